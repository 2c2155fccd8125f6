"""Validators for text that arrives from people: bounded, printable, never echoed raw."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def printable(value: object, limit: int = 80) -> str:
    """``value`` made safe to echo in an error message: no control characters, bounded length."""
    text = re.sub(r"[\x00-\x1f\x7f]", "?", str(value if value is not None else ""))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def reject_control_characters(value: str) -> None:
    """Refuse control characters (tabs and newlines aside) in a one-line setting."""
    if _CONTROL_CHARACTERS.search(value or ""):
        raise ValidationError(
            _("Remove the control characters (invisible characters such as NUL) from this value."),
            code="control_characters",
        )


def is_printable_ascii(value: str) -> bool:
    """Whether ``value`` holds only printable ASCII, space to ``~``.

    What every HTTP client sends unchanged in HTTP Basic credentials: ``requests`` encodes
    them as Latin-1 and fails on anything else (€, most non-Latin scripts), and no server
    agrees on what other bytes would mean.
    """
    return value.isascii() and value.isprintable()


class PrintableAsciiValidator:
    """Refuses text that is not printable ASCII, with ``message``; never shows the value."""

    code = "not_printable_ascii"

    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, value: str) -> None:
        if not is_printable_ascii(value or ""):
            raise ValidationError(self.message, code=self.code)
