"""Genesys Cloud settings and OAuth2 connections in the API, without their secret.

The connection nested in an endpoint's settings shows in full only to a requester who may
view connections (``genesys.view_oauth2connection``), as ``/api/v1/oauth2-connections/``
does; anyone else (a channel key, a token with only "view endpoint") gets its ``id``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from endpoints.api.permissions import requester_may
from endpoints.api.serializers import ProviderSettingsSerializer, RedactedModelSerializer
from genesys.models import (
    GENESYS_SETTINGS_FIELDS,
    OPEN_MESSAGING_FIELDS,
    GenesysSettings,
    OAuth2Connection,
    OpenMessagingSettings,
)


class OAuth2ConnectionSerializer(RedactedModelSerializer):
    """An OAuth2 client-credentials connection to Genesys Cloud, without its secret."""

    class Meta:
        model = OAuth2Connection
        fields = ["id", "name", "oauth_url", "client_id", "scope", "has_client_secret"]
        read_only_fields = fields


VIEW_CONNECTION = "genesys.view_oauth2connection"


class OAuth2ConnectionReferenceSerializer(serializers.Serializer):
    """An OAuth2 connection by id only, for a requester who may not view connections."""

    id = serializers.IntegerField(read_only=True, help_text="The connection's id.")

    #: Read by ``endpoints.api.schema.AutoSchema``: no other property, so that a full
    #: connection never matches this schema too.
    closed_schema = True


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="NodeAuthentication",
        serializers=[OAuth2ConnectionSerializer, OAuth2ConnectionReferenceSerializer],
        resource_type_field_name=None,
    )
)
class NodeAuthenticationSerializer(OAuth2ConnectionSerializer):
    """The connection in full with ``genesys.view_oauth2connection``, else only its id."""

    def to_representation(self, connection: OAuth2Connection) -> dict[str, Any]:
        if requester_may(self.context, VIEW_CONNECTION):
            return super().to_representation(connection)
        return OAuth2ConnectionReferenceSerializer(connection).data


NODE_AUTHENTICATION_HELP = (
    "In full with the permission to view OAuth2 connections "
    "(`genesys.view_oauth2connection`), else only its `id`."
)


class GenesysSettingsSerializer(ProviderSettingsSerializer):
    """An endpoint's Genesys Cloud handover settings (web chat v2 guest API)."""

    node_authentication = NodeAuthenticationSerializer(
        read_only=True,
        allow_null=True,
        help_text="The OAuth2 connection for Genesys Cloud platform API calls, if any. "
        + NODE_AUTHENTICATION_HELP,
    )

    select_related = ("node_authentication",)
    representation_permissions = (VIEW_CONNECTION,)

    class Meta:
        model = GenesysSettings
        fields = GENESYS_SETTINGS_FIELDS
        read_only_fields = fields


class OpenMessagingSettingsSerializer(ProviderSettingsSerializer):
    """An endpoint's Genesys Cloud Open Messaging settings, without the webhook secret."""

    node_authentication = NodeAuthenticationSerializer(
        read_only=True,
        help_text="The OAuth2 connection every Open Messaging call uses. "
        + NODE_AUTHENTICATION_HELP,
    )

    select_related = ("node_authentication",)
    representation_permissions = (VIEW_CONNECTION,)

    class Meta:
        model = OpenMessagingSettings
        fields = [*OPEN_MESSAGING_FIELDS, "has_webhook_secret", "has_end_webhook_secret"]
        read_only_fields = fields
