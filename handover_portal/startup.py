"""Run the system checks where Django does not (WSGI/ASGI servers such as gunicorn)."""

from __future__ import annotations

from django.core import checks
from django.core.management.base import SystemCheckError


def refuse_to_start_on_errors() -> None:
    """Raise ``SystemCheckError`` (with each problem's fix) when a check reports an error."""
    errors = [message for message in checks.run_checks() if message.is_serious()]
    if errors:
        raise SystemCheckError(
            "The app cannot start:\n" + "\n".join(f"{message}" for message in errors)
        )
