"""Secrets out of sight: the password of a storage URL is masked wherever a URL, a command line or a
message is shown.

One function serves every place that prints, stores or renders text that may hold a URL:
error messages, the run's provenance, the report, the index, logs. It masks by pattern (a URL's
userinfo, a ``password=`` pair) and by value: the password of every storage URL this process has
opened (:func:`remember`), wherever it appears, whole or in the pieces a parser may cut it into
at ``@``, ``:`` or ``/`` (a driver's error that names a host made of half an unencoded password).
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

MASK = "***"

_URL_PASSWORD = re.compile(
    r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@'\"]*:)(?P<secret>[^\s'\"/]*)(?P<at>@)"
)
"""``scheme://user:PASSWORD@host``: the userinfo's password, up to the last ``@`` before the path
(an unencoded ``@`` in a password is masked too)."""
_KEY_PASSWORD = re.compile(
    r"(?P<head>\b(?:password|passwd|pwd)\s*=\s*)(?P<secret>[^\s&;'\"]+)", re.IGNORECASE
)
"""``password=SECRET`` in a libpq-style DSN or a URL's query string."""

MIN_PIECE = 4
"""The shortest piece of a password masked on its own: a shorter one would mask ordinary words."""

_secrets: set[str] = set()
"""The passwords (and their pieces) of the storage URLs this process opened: masked wherever they
appear."""


def password(url: str) -> str | None:
    """The password of ``url``'s userinfo, as written (None when it has none): everything between
    the first ``:`` after the user and the *last* ``@`` before the query, so that unencoded ``@``,
    ``:`` and ``/`` stay in it."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    rest = rest.split("?", 1)[0]
    at = rest.rfind("@")
    if at < 0:
        return None
    user, colon, secret = rest[:at].partition(":")
    return secret if colon and secret else None


def remember(url: str | None) -> None:
    """Mask the password of ``url`` from now on in every text :func:`mask` sees: as written, decoded
    and encoded, and each of its pieces between ``@``, ``:`` and ``/`` of at least MIN_PIECE
    characters."""
    secret = None if url is None else password(url)
    if secret is None:
        return
    forms = {secret, unquote(secret), quote(unquote(secret), safe="")}
    for form in list(forms):
        forms.update(piece for piece in re.split(r"[@:/]", form) if len(piece) >= MIN_PIECE)
    _secrets.update(form for form in forms if form)


def mask(text: str) -> str:
    """``text`` with every password in a URL's userinfo or a ``password=`` pair, and every
    remembered password (or piece of one), replaced by ``***``."""
    for secret in sorted(_secrets, key=len, reverse=True):  # the whole before its pieces
        text = text.replace(secret, MASK)
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}{m['at']}" if m["secret"] else m[0], text)
    return _KEY_PASSWORD.sub(lambda m: f"{m['head']}{MASK}", text)
