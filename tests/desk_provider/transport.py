"""The Test Desk transport: the handover is a desk conversation keyed by its public id.

The desk knows the conversation by our id for it, so starting it again is harmless (a PUT)
and nothing about it is stored on our side. Each message carries a ``ref`` unique to its
outbox row: after an unknown outcome, ``find_sent`` looks for that ref in the desk's copy.
"""

from __future__ import annotations

from endpoints.handovers.transports import ConversationOver, HandoverTransport, PermanentFailure
from endpoints.models import Handover, OutboundMessage
from tests.desk_provider import client
from tests.desk_provider.models import DeskSettings


def desk_of(handover: Handover) -> DeskSettings:
    try:
        return handover.endpoint.desk_settings
    except DeskSettings.DoesNotExist:
        raise PermanentFailure("The endpoint has no Test Desk settings.") from None


def conversation_id(handover: Handover) -> str:
    return str(handover.public_id)


def ref_of(handover: Handover, message: OutboundMessage) -> str:
    """Stable per outbox row: a resend is recognisably the same message."""
    return f"{handover.public_id}:{message.pk}"


class DeskTransport(HandoverTransport):
    def start(self, handover: Handover) -> None:
        client.call(
            desk_of(handover),
            "PUT",
            client.conversation_path(conversation_id(handover)),
            what="the conversation's creation",
            body={"user_id": handover.user_id, "custom_fields": handover.custom_fields},
        )

    def send(self, handover: Handover, message: OutboundMessage) -> str:
        answer = client.call(
            desk_of(handover),
            "POST",
            client.conversation_path(conversation_id(handover), "messages"),
            what="a message",
            body={"text": message.text, "ref": ref_of(handover, message)},
            acted_on=True,
        )
        return str(answer["id"])

    def find_sent(self, handover: Handover, message: OutboundMessage) -> str | None:
        answer = client.call(
            desk_of(handover),
            "GET",
            client.conversation_path(conversation_id(handover), "messages"),
            what="the conversation's messages",
        )
        ref, taken = ref_of(handover, message), message.other_remote_ids()
        for stored in answer.get("messages", []):
            if stored.get("ref") == ref and stored.get("id") not in taken:
                return str(stored["id"])
        return None

    def send_typing(self, handover: Handover) -> None:
        client.call(
            desk_of(handover),
            "POST",
            client.conversation_path(conversation_id(handover), "typing"),
            what="a typing indicator",
        )

    def end(self, handover: Handover) -> None:
        try:
            client.call(
                desk_of(handover),
                "POST",
                client.conversation_path(conversation_id(handover), "end"),
                what="the end of the conversation",
            )
        except ConversationOver:
            return  # ended already (the agent did): nothing left to leave
        except client.NotFound:
            return  # never created: nothing to leave
