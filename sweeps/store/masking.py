"""Secrets out of sight: the password of a storage URL is masked wherever a URL or a command line is shown.

One function serves every place that prints, stores or renders text that may hold a URL:
error messages, the run's provenance, the report, the index, logs.
"""

from __future__ import annotations

import re

MASK = "***"

_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@'\"]*:)(?P<secret>[^\s'\"/]*)(?P<at>@)")
"""``scheme://user:PASSWORD@host``: the userinfo's password, up to the last ``@`` before the path
(an unencoded ``@`` in a password is masked too)."""
_KEY_PASSWORD = re.compile(r"(?P<head>\b(?:password|passwd|pwd)\s*=\s*)(?P<secret>[^\s&;'\"]+)", re.IGNORECASE)
"""``password=SECRET`` in a libpq-style DSN or a URL's query string."""


def mask(text: str) -> str:
    """``text`` with every password in a URL's userinfo or a ``password=`` pair replaced by ``***``."""
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}{m['at']}" if m["secret"] else m[0], text)
    return _KEY_PASSWORD.sub(lambda m: f"{m['head']}{MASK}", text)
