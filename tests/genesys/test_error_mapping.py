"""The one error mapping (``genesys.platform.error_mapping``): Genesys's answers → the
``genesys.platform.errors`` classes → what the relay does (``TransportError``)."""

from __future__ import annotations

import pytest

from endpoints.handovers import transports
from genesys.open_messaging.transport import _translate as om_translate
from genesys.platform import errors
from genesys.platform.error_mapping import error_for_status, retry_after_seconds, transport_error
from genesys.webchat.transport import _translate as webchat_translate


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, "bad.request", errors.GenesysBadRequest),
        (400, "chat.error.conversation.state", errors.GenesysConversationEnded),
        (400, "chat.error.member.state", errors.GenesysConversationEnded),
        (401, "", errors.GenesysAuthenticationError),
        (403, "", errors.GenesysPermissionError),
        (404, "not.found", errors.GenesysNotFound),
        (409, "", errors.GenesysBadRequest),
        (418, "", errors.GenesysError),
        (429, "", errors.GenesysRateLimited),
        (500, "", errors.GenesysUnavailable),
        (503, "", errors.GenesysUnavailable),
    ],
)
def test_each_status_has_its_error_class(status, code, kind):
    body = {"message": "It said no", "code": code, "contextId": "ctx-1"}

    error = error_for_status(status, body, what="the lookup")

    assert type(error) is kind
    assert (error.status, error.code, error.context_id) == (status, code, "ctx-1")
    assert str(error).startswith(f"Genesys Cloud refused the lookup ({status}): It said no.")


def test_an_answer_without_an_error_body_says_its_status():
    error = error_for_status(502, "<html>Bad gateway</html>", what="the lookup")

    assert str(error).startswith("Genesys Cloud refused the lookup (502): HTTP 502.")


def test_an_oauth_error_body_is_read_too():
    body = {"error": "invalid_client", "description": "Invalid client credentials"}

    error = error_for_status(401, body, what="the token request")

    assert error.code == "invalid_client"
    assert "Invalid client credentials" in str(error)


def test_a_403_names_the_permission_and_a_429_carries_its_retry_after():
    forbidden = error_for_status(403, {}, what="the lookup", permission="routing:queue:view")
    limited = error_for_status(429, {}, what="the lookup", retry_after=7.0)

    assert forbidden.permission == "routing:queue:view"
    assert "routing:queue:view" in str(forbidden)
    assert limited.retry_after == 7.0


@pytest.mark.parametrize(
    ("header", "seconds"), [("3", 3.0), ("0.5", 0.5), ("-2", 0.0), ("soon", None), (None, None)]
)
def test_retry_after_is_seconds_never_negative(header, seconds):
    assert retry_after_seconds(header) == seconds


ENDED = errors.GenesysConversationEnded("over", status=400, code="chat.error.member.state")
LIMITED = errors.GenesysRateLimited("429", status=429)
LIMITED.retry_after = 4.0
UNAVAILABLE = errors.GenesysUnavailable("503")
UNAUTHORIZED = errors.GenesysAuthenticationError("401", status=401)
CREDENTIALS = errors.GenesysCredentialsError("bad secret")
NOT_FOUND = errors.GenesysNotFound("404", status=404)
NOT_CONFIGURED = errors.GenesysNotConfigured("no Node Authentication")


@pytest.mark.parametrize(
    ("error", "sent", "webchat", "open_messaging"),
    [
        (ENDED, True, transports.ConversationOver, transports.ConversationOver),
        (LIMITED, True, transports.TemporaryFailure, transports.TemporaryFailure),
        (UNAVAILABLE, True, transports.UnknownOutcome, transports.UnknownOutcome),
        (UNAVAILABLE, False, transports.TemporaryFailure, transports.TemporaryFailure),
        # Web chat's calls carry the conversation's JWT, refused once it is over; Open
        # Messaging's an OAuth token, which an administrator may fix.
        (UNAUTHORIZED, False, transports.ConversationOver, transports.TemporaryFailure),
        (CREDENTIALS, False, transports.TemporaryFailure, transports.TemporaryFailure),
        (NOT_FOUND, True, transports.PermanentFailure, transports.PermanentFailure),
        (NOT_CONFIGURED, False, transports.PermanentFailure, transports.PermanentFailure),
    ],
)
def test_each_error_tells_the_relay_what_to_do(error, sent, webchat, open_messaging):
    assert type(webchat_translate(error, sent=sent)) is webchat
    assert type(om_translate(error, sent=sent)) is open_messaging
    assert type(transport_error(error, sent=sent)) is open_messaging


def test_a_429_passes_its_retry_after_to_the_outbox():
    assert transport_error(LIMITED, sent=True).retry_after == 4.0
