"""The seam between the relay and a provider: what a transport must do, and how it fails.

The relay (outbox, events, expiry, callbacks) is one mechanism for every provider; a
transport carries messages to the provider's service. A provider names its transport by
dotted path (``HandoverProvider.transport``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from endpoints.models import Handover, OutboundMessage


class TransportError(Exception):
    """A transport call failed; the subclass says what the relay should do about it."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TemporaryFailure(TransportError):
    """Not done, and safe to try again (later: ``retry_after`` seconds when known)."""


class UnknownOutcome(TransportError):
    """Maybe done (a timeout after sending): check with ``find_sent`` before resending."""


class PermanentFailure(TransportError):
    """Refused for good (bad request, not found): the message fails."""


class ConversationOver(TransportError):
    """The provider's conversation has ended: the handover ends (the agent left)."""


class HandoverTransport:
    """What the relay asks of a provider. Every method may raise a ``TransportError``."""

    #: Whether the provider wants to hear whether the channel got its messages: the relay
    #: then queues a ``receipt`` row (``send_receipt``) when a callback delivers or gives up.
    wants_receipts: bool = False
    #: The MIME types of the attachments (by URL) the provider takes from the user; empty:
    #: it takes none, and the API refuses a message with attachments for it.
    attachment_types: frozenset[str] = frozenset()
    #: The largest attachment it takes, in bytes (when the channel gives the size).
    attachment_max_bytes: int = 0
    #: The handover's related rows its calls read (``select_related`` paths from the
    #: handover): the worker reads them with the handover, in one statement.
    related: tuple[str, ...] = ()

    def start(self, handover: Handover) -> None:
        """Create the provider's conversation for ``handover`` (idempotent: once only)."""
        raise NotImplementedError

    def send(self, handover: Handover, message: OutboundMessage) -> str:
        """Send one outbox message to the agent; the provider's id of the sent message."""
        raise NotImplementedError

    def find_sent(self, handover: Handover, message: OutboundMessage) -> str | None:
        """After an unknown outcome: the provider's id if ``message`` did arrive, else None."""
        raise NotImplementedError

    def send_typing(self, handover: Handover) -> None:
        """Tell the agent the user is typing (best effort)."""

    def send_receipt(self, handover: Handover, row: OutboundMessage) -> None:
        """Tell the provider the channel got (or did not get) one of its messages:
        ``row.data`` holds ``message_id`` (the provider's), ``status`` (``delivered`` |
        ``failed``) and ``reason``."""
        raise NotImplementedError

    def end(self, handover: Handover) -> None:
        """Leave the provider's conversation; one that has already ended counts as done."""
        raise NotImplementedError
