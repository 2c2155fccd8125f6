"""``GET /api/v1/endpoints/{id}/metrics/``: the overview's figures over a range.

The same figures as the admin's "Handover overview" (``endpoints.overview``), for one
endpoint: open handovers and waiting times now, the range's totals, and a series per hour
or day stacked by end reason. Needs ``endpoints.view_handover`` (the "Handover reviewers"
group), or a channel key: that one sees its channel's endpoints only (others: 404).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from endpoints.api.authentication import ChannelPrincipal
from endpoints.api.confinement import ChannelConfinedMixin
from endpoints.api.schema import FIELD_ERRORS_SCHEMA
from endpoints.models import Endpoint, EndReason
from endpoints.overview import (
    OPEN,
    Bucket,
    Now,
    Window,
    handovers,
    now_figures,
    series,
    window_figures,
)

#: The longest range per interval: at most 744 hourly or 366 daily buckets.
MAX_RANGE = {"hour": timedelta(days=31), "day": timedelta(days=366)}
DEFAULT_RANGE = timedelta(days=7)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
FORBIDDEN = "No permission to view handover sessions (`endpoints.view_handover`)."


class MetricsQuery(serializers.Serializer):
    """``from`` and ``to`` (ISO 8601; ``to`` defaults to now, ``from`` to 7 days before it)
    and ``interval``."""

    def get_fields(self) -> dict[str, serializers.Field]:
        moment = {"required": False}
        return {
            "from": serializers.DateTimeField(
                help_text="The start of the range (inclusive); default: 7 days before `to`.",
                **moment,
            ),
            "to": serializers.DateTimeField(
                help_text="The end of the range (exclusive); default: now.", **moment
            ),
            "interval": serializers.ChoiceField(
                ["hour", "day"],
                default="day",
                help_text="The series' buckets: `hour` (range ≤ 31 days) or `day` (≤ 366 days).",
            ),
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        until = attrs.get("to") or datetime.now(UTC)
        if not EARLIEST <= until <= LATEST:
            raise serializers.ValidationError({"to": ["Give a date between 2000 and 2100."]})
        since = attrs.get("from") or until - DEFAULT_RANGE
        if not EARLIEST <= since <= LATEST:
            raise serializers.ValidationError({"from": ["Give a date between 2000 and 2100."]})
        if since >= until:
            raise serializers.ValidationError({"from": ["`from` must be before `to`."]})
        interval = attrs["interval"]
        if until - since > MAX_RANGE[interval]:
            days = MAX_RANGE[interval].days
            raise serializers.ValidationError(
                {"to": [f"The range is at most {days} days with interval={interval}."]}
            )
        return {"from": since, "to": until, "interval": interval}


@extend_schema_field(OpenApiTypes.DOUBLE)
class SecondsField(serializers.Field):
    """A duration in seconds (``null``: nothing to measure)."""

    def to_representation(self, value: timedelta) -> float:
        return round(value.total_seconds(), 3)


class EndedSerializer(serializers.Serializer):
    closed_schema = True
    agent_left = serializers.IntegerField()
    user_ended = serializers.IntegerField()
    staff_ended = serializers.IntegerField()
    expired = serializers.IntegerField()
    error = serializers.IntegerField()


class QuantilesSerializer(serializers.Serializer):
    closed_schema = True
    median_seconds = SecondsField(source="median", allow_null=True)
    p90_seconds = SecondsField(source="p90", allow_null=True)


class NowSerializer(serializers.Serializer):
    closed_schema = True
    starting = serializers.IntegerField()
    queued = serializers.IntegerField()
    active = serializers.IntegerField()
    longest_wait_seconds = SecondsField(
        source="longest_wait", allow_null=True, help_text="The longest queued handover's wait."
    )
    median_wait_seconds = SecondsField(source="median_wait", allow_null=True)
    failed_messages = serializers.IntegerField(help_text="Handovers with a failed message.")
    failed_callbacks = serializers.IntegerField(help_text="Handovers with a failed callback.")


class RangeSerializer(serializers.Serializer):
    closed_schema = True
    started = serializers.IntegerField(help_text="Handovers started in the range.")
    reached_agent = serializers.IntegerField(help_text="Of those, how many an agent joined.")
    ended = EndedSerializer(help_text="Handovers that ended in the range, by reason.")
    expired = serializers.IntegerField()
    time_to_agent = QuantilesSerializer(help_text="First `agent_joined` event, from the start.")
    time_to_first_reply = QuantilesSerializer(
        source="time_to_reply", help_text="First `agent_message` event, from the start."
    )


class BucketSerializer(serializers.Serializer):
    closed_schema = True
    start = serializers.DateTimeField()
    started = serializers.IntegerField(source="total")
    ended = serializers.SerializerMethodField()
    open = serializers.SerializerMethodField(help_text="Started in the bucket, still open.")

    @extend_schema_field(EndedSerializer)
    def get_ended(self, bucket: Bucket) -> dict[str, int]:
        return {reason: bucket.counts[reason] for reason in EndReason.values}

    def get_open(self, bucket: Bucket) -> int:
        return bucket.counts[OPEN]


class MetricsSerializer(serializers.Serializer):
    closed_schema = True
    endpoint = serializers.UUIDField(help_text="The endpoint's public ID.")
    interval = serializers.ChoiceField(["hour", "day"])
    now = NowSerializer()
    range = RangeSerializer()
    series = BucketSerializer(many=True, help_text="Every bucket of the range, empty ones too.")

    def get_fields(self) -> dict[str, serializers.Field]:
        # ``from`` is a Python keyword: it cannot be declared in the class body.
        return {
            "from": serializers.DateTimeField(),
            "to": serializers.DateTimeField(),
            **super().get_fields(),
        }


class MetricsPermission(permissions.BasePermission):
    message = FORBIDDEN

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if isinstance(user, ChannelPrincipal):
            return True
        return bool(user and user.is_authenticated and user.has_perm("endpoints.view_handover"))


class EndpointMetricsView(ChannelConfinedMixin, generics.GenericAPIView):
    """``GET /api/v1/endpoints/{id}/metrics/``."""

    queryset = Endpoint.objects.all()
    endpoint_lookup = ""
    permission_classes = [MetricsPermission]
    forbidden_description = FORBIDDEN
    serializer_class = MetricsSerializer
    lookup_field = "public_id"
    lookup_url_kwarg = "id"

    @extend_schema(
        operation_id="endpoints_metrics",
        summary="Handover metrics of an endpoint",
        description=(
            "Open handovers and the queued ones' waiting times now; over `[from, to)`: "
            "handovers started, how many reached an agent, the median and p90 of the time "
            "to an agent and to the first agent reply (of those started in the range), and "
            "those that ended, by reason; a series per `interval` of the handovers started, "
            "stacked by end reason. Hourly: a range of at most 31 days; daily: 366 days. "
            "Buckets are cut in the server's time zone."
        ),
        parameters=[MetricsQuery],
        responses={
            200: MetricsSerializer,
            400: OpenApiResponse(FIELD_ERRORS_SCHEMA, "Invalid query parameter."),
        },
    )
    def get(self, request: Request, id: str) -> Response:
        query = MetricsQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        since, until, interval = (query.validated_data[key] for key in ("from", "to", "interval"))
        endpoint = self.get_object()
        scope = handovers(endpoint.pk)
        now: Now = now_figures(scope)
        window: Window = window_figures(scope, [("range", since, until)])[0]
        figures = {
            "endpoint": endpoint.public_id,
            "from": since,
            "to": until,
            "interval": interval,
            "now": now,
            "range": window,
            "series": series(scope, since, until, interval),
        }
        return Response(MetricsSerializer(figures).data)
