"""``/api/v1/endpoints/``: the endpoints and their handover settings, read-only."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from endpoints.api.exceptions import ProviderFailed
from endpoints.api.filters import EndpointListQuery
from endpoints.api.schema import ErrorSerializer
from endpoints.api.serializers import (
    AgentAvailabilitySerializer,
    EndpointSerializer,
    endpoint_representation_permissions,
    endpoint_select_related,
    provider_settings_timestamp_fields,
)
from endpoints.api.viewsets import ConfigurationViewSet
from endpoints.models import Endpoint
from endpoints.providers import ProviderError


@extend_schema_view(
    list=extend_schema(
        summary="List endpoints",
        description="Paginated; filter by handover provider or channel type.",
        parameters=[EndpointListQuery],
    ),
    retrieve=extend_schema(
        summary="Retrieve an endpoint",
        description=(
            "By public ID, with its handover provider's settings nested under the provider's "
            "id. Send the `ETag` back in `If-None-Match` to get 304 while nothing changed."
        ),
    ),
)
class EndpointViewSet(ConfigurationViewSet):
    """Endpoints by public ID, with their handover settings."""

    queryset = Endpoint.objects.order_by("name", "pk")
    serializer_class = EndpointSerializer
    endpoint_lookup = ""
    lookup_field = "public_id"
    lookup_url_kwarg = "id"
    lookup_value_converter = "uuid"

    def get_queryset(self) -> QuerySet[Endpoint]:
        return super().get_queryset().select_related(*endpoint_select_related())

    def filter_queryset(self, queryset: QuerySet[Endpoint]) -> QuerySet[Endpoint]:
        if self.action != "list":
            return queryset
        # A plain dict, not the QueryDict: DRF reads a blank form value as "absent", but
        # `?handover_provider=` is a mistake to report, not a filter to drop.
        query = EndpointListQuery(data=self.request.query_params.dict())
        query.is_valid(raise_exception=True)
        return query.filter(queryset)

    @extend_schema(
        summary="Agent availability",
        description=(
            "Asks the endpoint's handover provider whether an agent can take a conversation "
            "now, with the queue's figures. Answers are cached briefly "
            "(`AGENT_AVAILABILITY_CACHE_SECONDS`), so a burst of calls costs the provider one."
        ),
        responses={
            200: AgentAvailabilitySerializer,
            409: OpenApiResponse(ErrorSerializer, "The endpoint's settings do not allow it."),
            502: OpenApiResponse(ErrorSerializer, "The provider failed or could not be reached."),
            503: OpenApiResponse(ErrorSerializer, "The provider is rate limiting: retry later."),
        },
    )
    @action(detail=True, url_path="agent-availability")
    def agent_availability(self, request: Request, id: str | None = None) -> Response:
        endpoint = self.get_object()
        try:
            figures = endpoint.get_provider().agent_availability(endpoint)
        except ProviderError as error:
            raise ProviderFailed(str(error), status_code=error.http_status) from None
        return Response(AgentAvailabilitySerializer(figures).data)

    def get_etag_permissions(self) -> Iterable[str]:
        return endpoint_representation_permissions()

    def get_etag_fields(self) -> Sequence[str]:
        providers = provider_settings_timestamp_fields().values()
        return ["updated_at", "handover_provider", *(path for paths in providers for path in paths)]

    def get_etag_timestamps(self, values: Mapping[str, Any]) -> Iterable[datetime]:
        # The selected provider's rows only: the others' settings show as null.
        shown = provider_settings_timestamp_fields().get(values["handover_provider"], [])
        return [values["updated_at"], *(values[path] for path in shown if values[path] is not None)]
