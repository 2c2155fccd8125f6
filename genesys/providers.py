"""The Genesys Cloud handover providers: web chat v2 guest API, and Open Messaging."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings

from endpoints.providers import AgentAvailability, Finding, HandoverProvider
from genesys.availability import agent_availability
from genesys.diagnostics import endpoint_findings, om_endpoint_findings

if TYPE_CHECKING:
    from endpoints.models import Endpoint


class GenesysProvider(HandoverProvider):
    """What both Genesys channels share: the OAuth2 connections API, and one relay process
    loop (``genesys.relay``) for both, dividing their handovers between its replicas."""

    api_urls = "genesys.api.urls"
    relay_listener = "genesys.relay.GenesysRelay"

    def agent_availability(self, endpoint: Endpoint) -> AgentAvailability:
        return agent_availability(endpoint)


class GenesysCloudProvider(GenesysProvider):
    id = "genesys"
    label = "Genesys Cloud"
    settings_model = "genesys.GenesysSettings"
    admin_inline = "genesys.admin.GenesysSettingsInline"
    transport = "genesys.webchat.transport.WebChatTransport"
    api_serializer = "genesys.api.serializers.GenesysSettingsSerializer"

    def handover_refusal(self, endpoint: Endpoint) -> str | None:
        if self.get_settings(endpoint) is None:
            return (
                f"Genesys Cloud settings of endpoint “{endpoint.name}” are incomplete: fill in "
                "Host, Organisation ID, Deployment ID, Queue Name and Queue ID in its Handover "
                "Settings."
            )
        return None

    def test_connection(self, endpoint: Endpoint) -> list[Finding]:
        return endpoint_findings(endpoint)


class GenesysOpenMessagingProvider(GenesysProvider):
    id = "genesys_om"
    label = "Genesys Cloud Open Messaging"
    settings_model = "genesys.OpenMessagingSettings"
    admin_inline = "genesys.admin.OpenMessagingSettingsInline"
    transport = "genesys.open_messaging.transport.OpenMessagingTransport"
    api_serializer = "genesys.api.serializers.OpenMessagingSettingsSerializer"
    # Genesys's webhooks: /genesys/open-messaging/<token>/…
    urls = "genesys.open_messaging.urls"
    url_prefix = "genesys"

    def periodic_tasks(self) -> Mapping[str, Mapping[str, Any]]:
        return {
            "sweep-open-messaging-inbox": {
                "task": "genesys.tasks.om_inbox_sweep_task",
                "schedule": settings.RELAY_SWEEP_INTERVAL_SECONDS,
            }
        }

    def handover_refusal(self, endpoint: Endpoint) -> str | None:
        if self.get_settings(endpoint) is None:
            return (
                f"Genesys Cloud Open Messaging settings of endpoint “{endpoint.name}” are "
                "incomplete: fill in Host, Integration ID, Deployment Name, Queue Name, Queue ID "
                "and Node Authentication in its Handover Settings."
            )
        return None

    def test_connection(self, endpoint: Endpoint) -> list[Finding]:
        return om_endpoint_findings(endpoint)
