"""The Test Desk's part of the endpoint page (no admin of its own: the inline is declared by
``DeskProvider.admin_inline``, and the endpoint admin shows every provider's).

Nothing here names the API token as a secret: its model field says so, and the inline's
form (the base inline's default) makes it write-only.
"""

from __future__ import annotations

from endpoints.admin import ProviderSettingsInline
from tests.desk_provider.models import DeskSettings


class DeskSettingsInline(ProviderSettingsInline):
    provider_id = "desk"
    model = DeskSettings
    fields = ["desk_url", "session_duration_minutes", "api_token"]
    verbose_name = "Test Desk"
    verbose_name_plural = "Test Desk"
