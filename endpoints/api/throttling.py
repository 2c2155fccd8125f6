"""Rate limits of authenticated API clients."""

from __future__ import annotations

from rest_framework import throttling
from rest_framework.settings import api_settings


class UserRateThrottle(throttling.UserRateThrottle):
    """DRF's per-user throttle, reading its rate when it runs.

    DRF copies ``DEFAULT_THROTTLE_RATES`` into a class attribute at import time, so a changed
    ``REST_FRAMEWORK`` setting (``override_settings`` in tests) would never reach it. DRF
    itself reloads ``api_settings`` on ``setting_changed``; reading from there follows it.
    """

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class HandoverRateThrottle(UserRateThrottle):
    """The runtime API's own budget per user (``API_HANDOVER_THROTTLE_RATE``): a busy channel
    polls events and relays messages far more often than anyone reads configuration.
    """

    scope = "handover"
