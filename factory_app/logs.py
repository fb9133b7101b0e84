"""Access logs without secrets.

The OAuth callback's query string carries the package's authorisation `code` and our
`state`; a password-reset link carries its token in the path. Neither may land in an
access log. `redact()` blanks them in a request line or URL; the gunicorn logger class
(`--logger-class factory_app.logs.GunicornLogger`, which `factory-app serve` passes) and
a filter on werkzeug's logger (the development and test servers) apply it to every
access-log line.
"""
from __future__ import annotations

import logging
import re

from gunicorn.glogging import Logger as _GunicornLogger

REDACTED = "[redacted]"
# the OAuth callbacks: /settings/integrations/<package>/callback?code=...&state=...
_CALLBACK_PATH = re.compile(r"/settings/integrations/[^/?#\s]+/callback")
_CALLBACK_QUERY = re.compile(rf"({_CALLBACK_PATH.pattern})\?[^\s\"#]*")
# password reset links: /reset-password/<token>
_RESET_TOKEN = re.compile(r"(/reset-password/)[^/?#\s\"]+")


def redact(text: str) -> str:
    if "/callback?" not in text and "/reset-password/" not in text:
        return text
    text = _CALLBACK_QUERY.sub(rf"\1?{REDACTED}", text)
    return _RESET_TOKEN.sub(rf"\1{REDACTED}", text)


class GunicornLogger(_GunicornLogger):
    """gunicorn's logger, with every value an access-log format can name redacted (the
    request line, path, query, referrer, headers and environ)."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key, value in atoms.items():
            if isinstance(value, str):
                atoms[key] = redact(value)
        if atoms.get("q") and _CALLBACK_PATH.fullmatch(environ.get("PATH_INFO", "")):
            atoms["q"] = atoms["{query_string}e"] = REDACTED
        return atoms


class RedactingFilter(logging.Filter):
    """For werkzeug's request log ('"GET /path?query HTTP/1.1" 200 -'), and any other
    logger given it: secrets in the message's arguments are blanked."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


_FILTER = RedactingFilter()


def install() -> None:
    """Once per process: werkzeug's access log is redacted."""
    logger = logging.getLogger("werkzeug")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
