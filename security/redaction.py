"""Secrets masked in text that leaves the process: log records and error reports.

Masked wherever they appear in a text: passwords in URLs (``redis://:…@host``),
``Authorization`` header values, ``Token``/``Api-Key``/``Bearer`` credentials, values given
under a secret's name (``client_secret=…``, ``"webhook_secret": "…"``: the names of
``security.sensitive_names``, every sensitive model field's among them), and the path
segment after a secret URL prefix (the Open Messaging webhook token is part of its URLs, so
``django.request`` and the access log would write it on every 4xx).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable

from security.sensitive_names import sensitive_names

MASK = "********"

#: ``scheme://user:password@`` and ``scheme://:password@``: the password.
_URL_PASSWORD = re.compile(r"(?P<keep>\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^/\s@]+(?=@)", re.I)
#: ``Authorization: Token abc``, ``'HTTP_AUTHORIZATION': 'Bearer abc'``: the value.
_AUTHORIZATION = re.compile(
    r"(?P<keep>authorization['\"]?\s*[:=]\s*['\"]?(?:(?:token|api-key|bearer|basic)\s+)?)"
    r"[^\s'\",;})\]]+",
    re.I,
)
#: ``Token <key>`` anywhere (a credential is 20 characters or more, prose is not).
_SCHEMED_CREDENTIAL = re.compile(r"(?P<keep>\b(?:Token|Api-Key|Bearer)\s+)[\w.~+/=-]{20,}")

_PATTERNS = (_URL_PASSWORD, _AUTHORIZATION, _SCHEMED_CREDENTIAL)


@functools.lru_cache(maxsize=8)
def _named_values(names: frozenset[str]) -> re.Pattern[str]:
    """``name=value``, ``name: value``, ``'name': 'value'`` for each of ``names``: the value
    (quoted, up to its closing quote)."""
    alternatives = "|".join(sorted(map(re.escape, names), key=len, reverse=True))
    return re.compile(
        rf"(?P<keep>\b(?:{alternatives})['\"]?\s*[:=]\s*)"
        r"(?P<value>'[^']+'|\"[^\"]+\"|[^\s'\",;&})\]]+)",
        re.I,
    )


def _mask_value(match: re.Match[str]) -> str:
    value = match["value"]
    quote = value[0] if value[0] in "'\"" else ""
    return f"{match['keep']}{quote}{MASK}{quote}"


class Redactor:
    """Masks the secrets above, values under a sensitive name, and the path segment after
    each of ``secret_paths``."""

    def __init__(self, secret_paths: Iterable[str] = ()) -> None:
        self.patterns = [
            *_PATTERNS,
            *(re.compile(rf"(?P<keep>{re.escape(prefix)})[^/\s?#'\"]+") for prefix in secret_paths),
        ]

    def __call__(self, text: str) -> str:
        for pattern in self.patterns:
            text = pattern.sub(rf"\g<keep>{MASK}", text)
        return _named_values(sensitive_names()).sub(_mask_value, text)


#: Without secret paths (the error reports: their URL is the developer's own request).
redact = Redactor()


class RedactSecrets(logging.Filter):
    """A handler filter masking secrets in the record's message (with its arguments), its
    traceback and its stack, in place: every handler after it sees the masked record.

    A record with nothing to mask is left as it is (its arguments kept apart).
    """

    def __init__(self, secret_paths: Iterable[str] = (), name: str = "") -> None:
        super().__init__(name)
        self.redact = Redactor(secret_paths)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self.redact(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True
