"""The Test Desk settings in the endpoint API (nested under ``desk``), without the token:
``has_api_token`` is built from the model's secret."""

from __future__ import annotations

from endpoints.api.serializers import ProviderSettingsSerializer
from tests.desk_provider.models import DeskSettings


class DeskSettingsSerializer(ProviderSettingsSerializer):
    class Meta:
        model = DeskSettings
        fields = ["desk_url", "session_duration_minutes", "has_api_token"]
        read_only_fields = fields
