"""One harness per transport: an open handover on a real remote (the Genesys sandbox, the
fake desk), what the remote received, faults on its send call, the agent ending it.

Every harness opens its handover as the outbox would: ``start``, then a first message
(the transcript) sent, so the remote conversation exists and is known on our side.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from endpoints.handovers.transports import HandoverTransport
from endpoints.models import Handover, OutboundMessage
from endpoints.models.handover import OutboxStatus
from genesys.open_messaging.transport import OpenMessagingTransport
from genesys.webchat.transport import WebChatTransport
from tests.conftest import CLIENT_ID
from tests.factories import (
    GenesysSettingsFactory,
    HandoverFactory,
    OAuth2ConnectionFactory,
    OpenMessagingSettingsFactory,
)

#: How long a remote waits before answering a send it did: longer than the read timeout.
LATE_SECONDS = 1.0
READ_TIMEOUT = 0.3
#: A fault that outlasts any retry a client makes inside one call.
PERSISTENT = 50


def queue(handover: Handover, text: str) -> OutboundMessage:
    return OutboundMessage.objects.create(handover=handover, text=text)


def begin_attempt(row: OutboundMessage) -> None:
    """What the outbox records before it calls the transport."""
    row.status = OutboxStatus.SENDING
    row.attempts += 1
    row.attempt_started_at = timezone.now()
    row.save(update_fields=["status", "attempts", "attempt_started_at"])


def mark_sent(row: OutboundMessage, remote_id: str) -> None:
    """What the outbox records after a send that worked (or that ``find_sent`` found)."""
    row.status = OutboxStatus.SENT
    row.remote_id = remote_id
    row.sent_at = timezone.now()
    row.save(update_fields=["status", "remote_id", "sent_at"])


def fresh(handover: Handover) -> Handover:
    """The handover as the outbox loads it for each row."""
    return Handover.objects.select_related("endpoint").get(pk=handover.pk)


class Harness:
    transport: HandoverTransport
    provider: str

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    def open_handover(self) -> Handover:
        handover = HandoverFactory(endpoint=self.endpoint(), provider=self.provider)
        self.transport.start(fresh(handover))
        first = queue(handover, "Transcript: the user asked for a human.")
        begin_attempt(first)
        mark_sent(first, self.transport.send(fresh(handover), first))
        return fresh(handover)

    def send(self, handover: Handover, row: OutboundMessage) -> str:
        """One attempt, as the outbox makes it."""
        begin_attempt(row)
        return self.transport.send(fresh(handover), row)

    # What each remote provides.

    def endpoint(self) -> Any:
        raise NotImplementedError

    def received(self, handover: Handover) -> list[tuple[str, str]]:
        """(remote id, text) of the user's messages the remote stored, in order."""
        raise NotImplementedError

    def conversations(self) -> int:
        raise NotImplementedError

    def fail_sends(self, handover: Handover, status: int, retry_after: int | None = None):
        raise NotImplementedError

    def answer_next_send_late(self, handover: Handover) -> None:
        raise NotImplementedError

    def clear_faults(self) -> None:
        raise NotImplementedError

    def agent_ends(self, handover: Handover) -> None:
        raise NotImplementedError

    def is_over(self, handover: Handover) -> bool:
        raise NotImplementedError


class WebChatHarness(Harness):
    transport = WebChatTransport()
    provider = "genesys"

    def __init__(self, settings: Any, sandbox: Any) -> None:
        super().__init__(settings)
        self.sandbox = sandbox

    def endpoint(self) -> Any:
        sandbox = self.sandbox
        return GenesysSettingsFactory(
            organization_id=sandbox.organization_id,
            deployment_id=sandbox.deployment_id,
            queue_id=sandbox.queue_id,
            queue_name=sandbox.queue_name,
            node_authentication=OAuth2ConnectionFactory(client_id=CLIENT_ID),
        ).endpoint

    def _conversation(self, handover: Handover) -> dict[str, Any]:
        return self.sandbox.conversation(handover.genesys_webchat.conversation_id)

    def _send_path(self, handover: Handover) -> str:
        chat = handover.genesys_webchat
        return (
            f"/api/v2/webchat/guest/conversations/{chat.conversation_id}"
            f"/members/{chat.member_id}/messages"
        )

    def received(self, handover: Handover) -> list[tuple[str, str]]:
        conversation = self._conversation(handover)
        customer = conversation["customer"]["id"]
        return [
            (message["id"], message["body"])
            for message in conversation["messages"]
            if message["sender"]["id"] == customer and message["bodyType"] == "standard"
        ]

    def conversations(self) -> int:
        return len(self.sandbox.conversations())

    def fail_sends(self, handover: Handover, status: int, retry_after: int | None = None):
        self.sandbox.add_fault(
            self._send_path(handover),
            method="POST",
            status=status,
            retry_after=retry_after,
            times=PERSISTENT,
        )

    def answer_next_send_late(self, handover: Handover) -> None:
        self.settings.GENESYS_HTTP_READ_TIMEOUT = READ_TIMEOUT
        self.sandbox.add_fault(
            self._send_path(handover), method="POST", delay_seconds=LATE_SECONDS, times=1
        )

    def clear_faults(self) -> None:
        self.sandbox.clear_faults()

    def agent_ends(self, handover: Handover) -> None:
        cid = handover.genesys_webchat.conversation_id
        self.sandbox.agent_join(cid)
        self.sandbox.agent_leave(cid, end_conversation=True)

    def is_over(self, handover: Handover) -> bool:
        return self._conversation(handover)["state"] == "ended"


class OpenMessagingHarness(Harness):
    transport = OpenMessagingTransport()
    provider = "genesys_om"

    def __init__(self, settings: Any, sandbox: Any) -> None:
        super().__init__(settings)
        self.sandbox = sandbox
        sandbox.settings(open_messaging_dedupe=False)  # nothing documents it: not relied on

    def endpoint(self) -> Any:
        sandbox = self.sandbox
        return OpenMessagingSettingsFactory(
            integration_id=sandbox.open_integration_id,
            queue_id=sandbox.queue_id,
            queue_name=sandbox.queue_name,
            node_authentication=OAuth2ConnectionFactory(client_id=CLIENT_ID),
        ).endpoint

    def _conversation(self, handover: Handover) -> dict[str, Any]:
        handover.genesys_om.refresh_from_db()
        return self.sandbox.om_conversation(handover.genesys_om.conversation_id)

    def _send_path(self) -> str:
        integration = self.sandbox.open_integration_id
        return f"/api/v2/conversations/messages/{integration}/inbound/open/message"

    def received(self, handover: Handover) -> list[tuple[str, str]]:
        return [
            (message["id"], message["text"])
            for message in self._conversation(handover)["messages"]
            if message["direction"] == "Inbound"
        ]

    def conversations(self) -> int:
        return len(self.sandbox.om_conversations())

    def fail_sends(self, handover: Handover, status: int, retry_after: int | None = None):
        self.sandbox.add_fault(
            self._send_path(), method="POST", status=status, retry_after=retry_after,
            times=PERSISTENT,
        )  # fmt: skip

    def answer_next_send_late(self, handover: Handover) -> None:
        self.settings.GENESYS_HTTP_READ_TIMEOUT = READ_TIMEOUT
        self.sandbox.add_fault(
            self._send_path(), method="POST", delay_seconds=LATE_SECONDS, times=1
        )

    def clear_faults(self) -> None:
        self.sandbox.clear_faults()

    def agent_ends(self, handover: Handover) -> None:
        cid = handover.genesys_om.conversation_id
        self.sandbox.om_agent_join(cid)
        self.sandbox.om_agent_leave(cid, end_conversation=True)

    def is_over(self, handover: Handover) -> bool:
        participants = self._conversation(handover)["participants"]
        customer = next(p for p in participants if p["purpose"] == "customer")
        return customer["state"] == "disconnected"


class DeskHarness(Harness):
    provider = "desk"

    def __init__(self, settings: Any, desk: Any) -> None:
        from tests.desk_provider.transport import DeskTransport

        super().__init__(settings)
        self.desk = desk
        self.transport = DeskTransport()

    def endpoint(self) -> Any:
        from tests.desk_provider.factories import DeskSettingsFactory

        return DeskSettingsFactory(desk_url=self.desk.url, api_token=self.desk.token).endpoint

    def _send_path(self, handover: Handover) -> str:
        return f"/api/conversations/{handover.public_id}/messages"

    def received(self, handover: Handover) -> list[tuple[str, str]]:
        messages = self.desk.messages(str(handover.public_id))
        return [(message["id"], message["text"]) for message in messages]

    def conversations(self) -> int:
        return self.desk.count()

    def fail_sends(self, handover: Handover, status: int, retry_after: int | None = None):
        self.desk.add_fault(
            self._send_path(handover), method="POST", status=status, retry_after=retry_after,
            times=PERSISTENT,
        )  # fmt: skip

    def answer_next_send_late(self, handover: Handover) -> None:
        self.settings.DESK_HTTP_READ_TIMEOUT = READ_TIMEOUT
        self.desk.add_fault(self._send_path(handover), method="POST", delay_seconds=LATE_SECONDS)

    def clear_faults(self) -> None:
        self.desk.clear_faults()

    def agent_ends(self, handover: Handover) -> None:
        self.desk.agent_end(str(handover.public_id))

    def is_over(self, handover: Handover) -> bool:
        return self.desk.state(str(handover.public_id)) == "ended"
