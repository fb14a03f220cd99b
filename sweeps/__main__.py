import gc
import signal
import sys


def _before_the_command(signum, frame):
    """Ctrl-C or SIGTERM while the command line starts (its imports): one line and the code, as
    during a command."""
    said = "interrupted" if signum == signal.SIGINT else "terminated (SIGTERM)"
    print(f"{said}: the command had not begun; nothing was changed", file=sys.stderr)
    sys.exit(128 + signum)


for _signal in (signal.SIGINT, signal.SIGTERM):
    signal.signal(_signal, _before_the_command)

from sweeps.cli import main  # noqa: E402 - after the handlers: the imports take a second or more

code = main()
gc.freeze()  # the process ends: the millions of objects of a large sweep need no last collection
sys.exit(code)
