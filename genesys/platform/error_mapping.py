"""The one mapping from what Genesys Cloud answers to what the code does about it.

Both HTTP clients (``http``, sync, and ``async_http``, for the relay's event loop) use it:

- an answer that is not 2xx → a ``genesys.platform.errors`` class, from its status and its
  error body (``error_for_status``), with a 429's ``Retry-After`` (``retry_after_seconds``);
- a request without an answer (a timeout, no connection) → ``GenesysUnavailable``
  (``error_for_failure``), which says whether Genesys may have acted on it;
- and, for the relay's outbox, a ``GenesysError`` → the ``TransportError`` that says
  what to do next (``transport_error``).

Which of these are worth another attempt is ``retrying``'s business.
"""

from __future__ import annotations

import enum
import logging
from typing import Any

from endpoints.handovers.transports import (
    ConversationOver,
    PermanentFailure,
    TemporaryFailure,
    TransportError,
    UnknownOutcome,
)
from endpoints.validators import printable
from genesys.platform import errors

logger = logging.getLogger("genesys.platform.http")

#: Web chat: the conversation or the member is no longer in a state that allows the call.
CONVERSATION_ENDED_CODES = frozenset({"chat.error.conversation.state", "chat.error.member.state"})

_BY_STATUS: dict[int, type[errors.GenesysError]] = {
    400: errors.GenesysBadRequest,
    401: errors.GenesysAuthenticationError,
    404: errors.GenesysNotFound,
    409: errors.GenesysBadRequest,
    429: errors.GenesysRateLimited,
}


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header's seconds (never negative), or ``None`` without a number."""
    try:
        return max(0.0, float(value or ""))
    except ValueError:
        return None


def error_for_status(
    status: int,
    body: Any,
    *,
    what: str,
    permission: str = "",
    retry_after: float | None = None,
) -> errors.GenesysError:
    """The typed error for a non-2xx answer, from its error body where it has one.

    ``body`` is the parsed JSON (anything else counts as none); ``what`` names the call
    ("the queue lookup"); ``permission`` is the one a 403 names in its advice.
    """
    if not isinstance(body, dict):
        body = {}
    said = body.get("message") or body.get("error_description") or body.get("description")
    said = printable(said, limit=300) if said else f"HTTP {status}"
    details = {
        "status": status,
        "code": printable(body.get("code") or body.get("error") or "", limit=80),
        "context_id": printable(body.get("contextId") or "", limit=80),
    }
    message = f"Genesys Cloud refused {what} ({status}): {said}"
    logger.warning(
        "Genesys refused %s: status=%s code=%s contextId=%s",
        what,
        status,
        details["code"],
        details["context_id"],
    )
    if status == 403:
        return errors.GenesysPermissionError(message, permission=permission, **details)
    if status == 400 and details["code"] in CONVERSATION_ENDED_CODES:
        return errors.GenesysConversationEnded(message, **details)
    kind = _BY_STATUS.get(status)
    if kind is None:
        kind = errors.GenesysUnavailable if status >= 500 else errors.GenesysError
    error = kind(message, **details)
    if status == 429:
        error.retry_after = retry_after
    return error


class Failure(enum.Enum):
    """How a request got no answer."""

    #: No connection was made: Genesys cannot have acted on the request.
    CONNECT_TIMEOUT = "connect timeout"
    #: Connected, then no answer in time: Genesys may have acted on it.
    READ_TIMEOUT = "read timeout"
    #: The connection failed (refused, reset, DNS): Genesys may have acted on it.
    CONNECTION = "connection failure"

    @property
    def may_have_arrived(self) -> bool:
        return self is not Failure.CONNECT_TIMEOUT


def failure_text(
    failure: Failure, *, host: str, connect_timeout: float, read_timeout: float
) -> str:
    """What happened, for logs and the error (the host only: a URL may carry a token)."""
    if failure is Failure.CONNECT_TIMEOUT:
        return f"{host} did not accept a connection within {connect_timeout:g} s"
    if failure is Failure.READ_TIMEOUT:
        return f"{host} did not answer within {read_timeout:g} s"
    return f"{host} could not be reached"


def error_for_failure(failure_said: str, *, what: str) -> errors.GenesysUnavailable:
    """The error for a request that got no answer (``failure_said``: ``failure_text``)."""
    return errors.GenesysUnavailable(f"Genesys Cloud failed {what}: {failure_said}")


def transport_error(
    error: errors.GenesysError, *, sent: bool, unauthorized_ends_conversation: bool = False
) -> TransportError:
    """What the relay should do about a Genesys error of a transport call.

    ``sent``: the request may have reached Genesys and been acted on (a send), so a failure
    without an answer is an ``UnknownOutcome`` (the outbox asks ``find_sent`` before sending
    again). ``unauthorized_ends_conversation``: the call authenticates with the
    conversation's own credentials (web chat's JWT), which Genesys stops accepting when the
    conversation is over; with an OAuth token (refused even after a fresh one) an
    administrator may fix the OAuth client, so it is tried again later.
    """
    message = str(error)
    if isinstance(error, errors.GenesysConversationEnded):
        return ConversationOver(message)
    if isinstance(error, errors.GenesysRateLimited):
        return TemporaryFailure(message, retry_after=error.retry_after)
    if isinstance(error, errors.GenesysUnavailable):
        return UnknownOutcome(message) if sent else TemporaryFailure(message)
    if isinstance(error, errors.GenesysAuthenticationError):
        if unauthorized_ends_conversation:
            return ConversationOver(message)
        return TemporaryFailure(message)
    if isinstance(error, errors.GenesysCredentialsError):
        return TemporaryFailure(message)  # an administrator may fix the OAuth client
    return PermanentFailure(message)
