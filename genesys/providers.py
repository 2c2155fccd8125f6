"""The Genesys Cloud handover providers: web chat v2 guest API, and Open Messaging."""

from __future__ import annotations

from typing import TYPE_CHECKING

from endpoints.providers import AgentAvailability, Finding, HandoverProvider
from genesys.availability import agent_availability
from genesys.diagnostics import endpoint_findings, om_endpoint_findings

if TYPE_CHECKING:
    from endpoints.models import Endpoint


class GenesysCloudProvider(HandoverProvider):
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

    def agent_availability(self, endpoint: Endpoint) -> AgentAvailability:
        return agent_availability(endpoint)


class GenesysOpenMessagingProvider(HandoverProvider):
    id = "genesys_om"
    label = "Genesys Cloud Open Messaging"
    settings_model = "genesys.OpenMessagingSettings"
    admin_inline = "genesys.admin.OpenMessagingSettingsInline"
    transport = "genesys.open_messaging.transport.OpenMessagingTransport"
    api_serializer = "genesys.api.serializers.OpenMessagingSettingsSerializer"

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

    def agent_availability(self, endpoint: Endpoint) -> AgentAvailability:
        return agent_availability(endpoint)
