"""Genesys Cloud settings and OAuth2 connections in the API, without their secret."""

from __future__ import annotations

from rest_framework import serializers

from endpoints.api.serializers import ProviderSettingsSerializer, RedactedModelSerializer
from endpoints.fields import has_secret
from genesys.models import (
    GENESYS_SETTINGS_FIELDS,
    OPEN_MESSAGING_FIELDS,
    GenesysSettings,
    OAuth2Connection,
    OpenMessagingSettings,
)


class OAuth2ConnectionSerializer(RedactedModelSerializer):
    """An OAuth2 client-credentials connection to Genesys Cloud, without its secret."""

    has_client_secret = serializers.SerializerMethodField(
        help_text="Whether a client secret is stored. The secret itself is never returned."
    )

    class Meta:
        model = OAuth2Connection
        fields = ["id", "name", "oauth_url", "client_id", "scope", "has_client_secret"]
        read_only_fields = fields

    def get_has_client_secret(self, connection: OAuth2Connection) -> bool:
        # Presence only, never decrypted: works with a lost key and keeps the secret out.
        return has_secret(connection, "client_secret")


class GenesysSettingsSerializer(ProviderSettingsSerializer):
    """An endpoint's Genesys Cloud handover settings (web chat v2 guest API)."""

    node_authentication = OAuth2ConnectionSerializer(
        read_only=True,
        allow_null=True,
        help_text="The OAuth2 connection for Genesys Cloud platform API calls, if any.",
    )

    select_related = ("node_authentication",)

    class Meta:
        model = GenesysSettings
        fields = GENESYS_SETTINGS_FIELDS
        read_only_fields = fields


class OpenMessagingSettingsSerializer(ProviderSettingsSerializer):
    """An endpoint's Genesys Cloud Open Messaging settings, without the webhook secret."""

    node_authentication = OAuth2ConnectionSerializer(
        read_only=True, help_text="The OAuth2 connection every Open Messaging call uses."
    )
    has_webhook_secret = serializers.SerializerMethodField(
        help_text="Whether a Webhook Signature Secret is stored. It is never returned."
    )

    select_related = ("node_authentication",)

    class Meta:
        model = OpenMessagingSettings
        fields = [*OPEN_MESSAGING_FIELDS, "has_webhook_secret"]
        read_only_fields = fields

    def get_has_webhook_secret(self, om_settings: OpenMessagingSettings) -> bool:
        return has_secret(om_settings, "webhook_secret")
