"""``/api/v1/endpoints/``: the endpoints and their handover settings, read-only."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view

from endpoints.api.filters import EndpointListQuery
from endpoints.api.serializers import (
    EndpointSerializer,
    endpoint_select_related,
    provider_settings_rows,
)
from endpoints.api.viewsets import ConfigurationViewSet
from endpoints.models import Endpoint


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

    serializer_class = EndpointSerializer
    lookup_field = "public_id"
    lookup_url_kwarg = "id"
    lookup_value_converter = "uuid"

    def get_queryset(self) -> QuerySet[Endpoint]:
        return Endpoint.objects.select_related(*endpoint_select_related()).order_by("name", "pk")

    def filter_queryset(self, queryset: QuerySet[Endpoint]) -> QuerySet[Endpoint]:
        if self.action != "list":
            return queryset
        # A plain dict, not the QueryDict: DRF reads a blank form value as "absent", but
        # `?handover_provider=` is a mistake to report, not a filter to drop.
        query = EndpointListQuery(data=self.request.query_params.dict())
        query.is_valid(raise_exception=True)
        return query.filter(queryset)

    def get_etag_timestamps(self, instance: Endpoint) -> Iterable[datetime]:
        return [instance.updated_at, *(row.updated_at for row in provider_settings_rows(instance))]
