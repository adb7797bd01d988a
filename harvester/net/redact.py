"""Secrets out of messages and logs: URL passwords and secret query parameters.

:func:`redact` rewrites any text (an error message, a log line, a URL) so
that

* a password in a URL's userinfo reads ``***`` (``https://ann:***@host/``);
  the user name stays, it tells which account was used;
* the value of each secret query parameter (``token``, ``sig``, ``key`` ...
  by default; ``redact_params`` in the config) reads ``***``.

Everything else is left as written, so a redacted URL still says which page
or file a message is about.  Identity fields (a manifest's ``page`` and
``url``) are not passed through here: ids and state depend on them.

>>> redact("cannot connect to https://ann:pw@cdn.example/v.mp4?sig=abc&w=1")
'cannot connect to https://ann:***@cdn.example/v.mp4?sig=***&w=1'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from harvester.config import SECRET_PARAMS
from harvester.errors import HarvesterError

__all__ = ["MASK", "redact", "redact_error"]

MASK = "***"
# scheme://user:password@ — the password is whatever runs up to the '@'.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@?#]*):[^@\s/?#]*@")


@lru_cache(maxsize=16)
def _params(names: tuple[str, ...]) -> re.Pattern[str] | None:
    if not names:
        return None
    alternatives = "|".join(re.escape(name) for name in names)
    return re.compile(rf"(?i)([?&;](?:{alternatives})=)[^&#;\s\"'<>]*")


def redact(text: str, params: Iterable[str] = SECRET_PARAMS) -> str:
    """``text`` with URL passwords and the values of ``params`` masked."""
    text = _USERINFO.sub(rf"\1:{MASK}@", text)
    pattern = _params(tuple(params))
    return text if pattern is None else pattern.sub(rf"\g<1>{MASK}", text)


def redact_error(exc: HarvesterError, params: Iterable[str] = SECRET_PARAMS) -> HarvesterError:
    """Mask the secrets in ``exc``'s message, in place; returns ``exc``."""
    message = redact(exc.message, params)
    if message != exc.message:
        exc.message = message
        exc.args = (message, *exc.args[1:])
    return exc
