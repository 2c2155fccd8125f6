"""The runtime API: a channel starts a handover, sends the user's messages, polls the
agent's events and ends it. Thin: each call validates, then calls a service.

Needs ``endpoints.drive_handover`` (``DriveHandoverPermission``), with its own throttle
budget (``API_HANDOVER_THROTTLE_RATE``). Handovers are addressed by their public ID. A
channel key drives only its channel's endpoints (``ChannelConfinedMixin``): another
endpoint, or its handovers, answer 404.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from endpoints.api.confinement import ChannelConfinedMixin
from endpoints.api.exceptions import Conflict
from endpoints.api.permissions import DriveHandoverPermission
from endpoints.api.schema import BODY_ERRORS_SCHEMA, FIELD_ERRORS_SCHEMA, ErrorSerializer
from endpoints.api.throttling import HandoverRateThrottle
from endpoints.handovers.api.serializers import (
    EventPageSerializer,
    EventsQuery,
    HandoverSerializer,
    HandoverStartSerializer,
    MessageAcceptedSerializer,
    MessageSerializer,
)
from endpoints.handovers.outbox import transport_for
from endpoints.handovers.services import (
    HandoverClosed,
    HandoverRefused,
    handover_end,
    handover_message_add,
    handover_start,
    handover_typing,
)
from endpoints.handovers.transports import HandoverTransport
from endpoints.models import Endpoint, EndReason, Handover
from endpoints.providers import ProviderError, UnknownProvider

FORBIDDEN = "No permission to drive handovers (`endpoints.drive_handover`)."
INVALID_BODY = OpenApiResponse(BODY_ERRORS_SCHEMA, "Invalid input: nothing was written.")


def _transport_or_none(handover: Handover) -> HandoverTransport | None:
    """The transport that will carry the handover's messages (what it can carry decides
    what the API accepts), or ``None`` when its provider has none."""
    try:
        return transport_for(handover)
    except (ProviderError, UnknownProvider):
        return None


class HandoverAPIMixin(ChannelConfinedMixin):
    permission_classes = [DriveHandoverPermission]
    throttle_classes = [HandoverRateThrottle]
    forbidden_description = FORBIDDEN
    lookup_field = "public_id"
    lookup_url_kwarg = "id"
    lookup_value_converter = "uuid"


class HandoverStartView(HandoverAPIMixin, generics.GenericAPIView):
    """``POST /api/v1/endpoints/{id}/handovers/``."""

    serializer_class = HandoverStartSerializer
    queryset = Endpoint.objects.all()
    endpoint_lookup = ""

    @extend_schema(
        operation_id="endpoints_handovers_start",
        summary="Start a handover",
        description=(
            "Hands the session's conversation over to a human agent through the endpoint's "
            "provider. The transcript is sent to the agent first. While the session has an "
            "open handover, answers it again with 200 (idempotent): retrying is safe."
        ),
        request=HandoverStartSerializer,
        responses={
            201: OpenApiResponse(HandoverSerializer, "Started."),
            200: OpenApiResponse(HandoverSerializer, "The session's open handover."),
            400: INVALID_BODY,
            409: OpenApiResponse(
                ErrorSerializer, "The endpoint cannot hand over: provider None or incomplete."
            ),
        },
    )
    def post(self, request: Request, id: str) -> Response:
        endpoint = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            handover, created = handover_start(endpoint=endpoint, **serializer.validated_data)
        except HandoverRefused as error:
            raise Conflict(str(error)) from None
        handover.endpoint = endpoint
        return Response(
            HandoverSerializer(handover).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class HandoverViewSet(HandoverAPIMixin, viewsets.GenericViewSet):
    """``/api/v1/handovers/{id}/``: the handover, its messages and events; DELETE ends it."""

    serializer_class = HandoverSerializer
    queryset = Handover.objects.select_related("endpoint")
    endpoint_lookup = "endpoint"

    @extend_schema(
        summary="Retrieve a handover",
        description="Its status, agent, and when it started, was last active, expires or ended.",
        responses={200: HandoverSerializer},
    )
    def retrieve(self, request: Request, id: str) -> Response:
        return Response(HandoverSerializer(self.get_object()).data)

    @extend_schema(
        summary="End a handover (the user left)",
        description=(
            "Ends it with `end_reason` `user_ended` and leaves the provider's conversation, so "
            "the agent sees the user go. Ending an ended handover changes nothing and answers "
            "200 with it as it is (idempotent): `end_reason` says who ended it."
        ),
        responses={200: HandoverSerializer},
    )
    def destroy(self, request: Request, id: str) -> Response:
        handover = self.get_object()
        handover_end(handover_id=handover.pk, reason=EndReason.USER_ENDED)
        return Response(HandoverSerializer(self.get_object()).data)

    @extend_schema(
        summary="Send a user message to the agent",
        description=(
            "Queued and sent in order, after the transcript. Sending the same "
            "`client_message_id` again is accepted once: 202 with the first message, even "
            "after the handover ended. `quick_reply` answers one of the quick replies an "
            "agent or system message offered (the latest offer, or the event `in_reply_to` "
            "names); an answer that is not one of its options is a 400."
        ),
        request=MessageSerializer,
        responses={
            202: MessageAcceptedSerializer,
            400: INVALID_BODY,
            409: OpenApiResponse(ErrorSerializer, "The handover has ended."),
        },
    )
    @action(detail=True, methods=["post"], serializer_class=MessageSerializer)
    def messages(self, request: Request, id: str) -> Response:
        handover = self.get_object()
        context = {
            **self.get_serializer_context(),
            "transport": _transport_or_none(handover),
            "handover": handover,
        }
        serializer = self.get_serializer(data=request.data, context=context)
        serializer.is_valid(raise_exception=True)
        try:
            message, _created = handover_message_add(handover=handover, **serializer.validated_data)
        except HandoverClosed as error:
            raise Conflict(str(error)) from None
        return Response(MessageAcceptedSerializer(message).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="The user is typing",
        description=(
            "Shows the agent a typing indicator where the provider offers one (Genesys Open "
            "Messaging). Best effort: not queued, not retried. Send it at most every few "
            "seconds while the user types."
        ),
        request=None,
        responses={
            202: OpenApiResponse(description="Passed on to the provider."),
            409: OpenApiResponse(ErrorSerializer, "The handover has ended."),
        },
    )
    @action(detail=True, methods=["post"])
    def typing(self, request: Request, id: str) -> Response:
        handover = self.get_object()
        try:
            handover_typing(handover=handover)
        except HandoverClosed as error:
            raise Conflict(str(error)) from None
        return Response(status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Poll the handover's events",
        description=(
            "The events after the cursor, oldest first. Poll with the `next_cursor` of the "
            "previous answer: every event is seen exactly once."
        ),
        parameters=[EventsQuery],
        responses={
            200: EventPageSerializer,
            400: OpenApiResponse(FIELD_ERRORS_SCHEMA, "Invalid query parameter."),
        },
    )
    @action(detail=True, methods=["get"], serializer_class=EventPageSerializer)
    def events(self, request: Request, id: str) -> Response:
        query = EventsQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        after, limit = query.validated_data["after"], query.validated_data["limit"]
        handover = self.get_object()
        events = list(handover.events.filter(seq__gt=after).order_by("seq")[:limit])
        page = {"events": events, "next_cursor": events[-1].seq if events else after}
        return Response(EventPageSerializer(page).data)
