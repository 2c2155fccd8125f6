"""The models of what every provider shares: endpoints and handovers."""

from endpoints.models.endpoint import ChannelType, Endpoint
from endpoints.models.handover import (
    EndReason,
    EventKind,
    Handover,
    HandoverEvent,
    HandoverStatus,
    OutboundMessage,
    OutboxStatus,
)

__all__ = [
    "ChannelType",
    "EndReason",
    "Endpoint",
    "EventKind",
    "Handover",
    "HandoverEvent",
    "HandoverStatus",
    "OutboundMessage",
    "OutboxStatus",
]
