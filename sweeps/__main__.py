import sys

from sweeps.cli import main
from sweeps.report.style import without_seaborn_optional

if sys.argv[1:2] == ["report"]:  # a process that only draws the report's figures
    without_seaborn_optional()
sys.exit(main())
