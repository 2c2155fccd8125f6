"""``/api/v1/oauth2-connections/``: the OAuth2 connections, read-only and without secrets."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view

from endpoints.api.confinement import NO_CHANNEL
from endpoints.api.viewsets import ConfigurationViewSet
from genesys.api.serializers import OAuth2ConnectionSerializer
from genesys.models import OAuth2Connection


@extend_schema_view(
    list=extend_schema(summary="List OAuth2 connections"),
    retrieve=extend_schema(summary="Retrieve an OAuth2 connection"),
)
class OAuth2ConnectionViewSet(ConfigurationViewSet):
    """OAuth2 connections by id; `has_client_secret` says whether a secret is stored."""

    queryset = OAuth2Connection.objects.order_by("name", "pk")
    serializer_class = OAuth2ConnectionSerializer
    # Connections belong to no endpoint's channel: a channel key sees none (and has no
    # permission to look).
    endpoint_lookup = NO_CHANNEL
    lookup_value_converter = "int"
