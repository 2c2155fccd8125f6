"""The models of what every provider shares: endpoints, handovers, relay replicas."""

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
from endpoints.models.relay import RelayReplica

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
    "RelayReplica",
]
