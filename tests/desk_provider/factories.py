"""A factory for the Test Desk's settings (use it while ``desk_installed()``)."""

from __future__ import annotations

import factory

from tests.desk_provider.models import DeskSettings
from tests.factories import EndpointFactory


class DeskSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeskSettings

    endpoint = factory.SubFactory(EndpointFactory, handover_provider="desk")
    desk_url = "http://127.0.0.1:9/"
    session_duration_minutes = 20
    api_token = "desk-api-token"
