"""System checks of the security settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


@checks.register()
def check_idle_minutes(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if settings.ADMIN_SESSION_IDLE_MINUTES >= 1:
        return []
    return [
        checks.Error(
            f"ADMIN_SESSION_IDLE_MINUTES is {settings.ADMIN_SESSION_IDLE_MINUTES}: every "
            "admin session would end at its next request.",
            hint="Set ADMIN_SESSION_IDLE_MINUTES to the idle minutes after which an admin "
            "session ends (at least 1; default 30).",
            id="security.E001",
        )
    ]
