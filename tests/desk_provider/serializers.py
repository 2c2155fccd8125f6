"""The Test Desk settings in the endpoint API (nested under ``desk``), without the token."""

from __future__ import annotations

from rest_framework import serializers

from endpoints.api.serializers import ProviderSettingsSerializer
from endpoints.fields import has_secret
from tests.desk_provider.models import DeskSettings


class DeskSettingsSerializer(ProviderSettingsSerializer):
    has_api_token = serializers.SerializerMethodField(
        help_text="Whether an API token is stored. The token itself is never returned."
    )

    class Meta:
        model = DeskSettings
        fields = ["desk_url", "session_duration_minutes", "has_api_token"]
        read_only_fields = fields

    def get_has_api_token(self, desk: DeskSettings) -> bool:
        return has_secret(desk, "api_token")
