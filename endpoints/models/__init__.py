"""The models of what every provider shares: endpoints, handovers, channels, relay
replicas."""

from endpoints.models.channel import Channel, ChannelAPIKey
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
from endpoints.models.staff_token import StaffToken

__all__ = [
    "Channel",
    "ChannelAPIKey",
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
    "StaffToken",
]
