"""The desk's HTTP API: its paths, and its failures as the relay's ``TransportError``s.

One attempt per call: the outbox does the retrying (with its backoff, under its lease), so
nothing here sleeps. Error messages name the call and the status, never the token.
"""

from __future__ import annotations

from typing import Any

import requests
from django.conf import settings

from endpoints.handovers.transports import (
    ConversationOver,
    PermanentFailure,
    TemporaryFailure,
    UnknownOutcome,
)
from tests.desk_provider.models import DeskSettings

# Read with defaults, as allauth's app_settings do: the project's settings need not know
# the provider.
CONNECT_TIMEOUT = "DESK_HTTP_CONNECT_TIMEOUT"
READ_TIMEOUT = "DESK_HTTP_READ_TIMEOUT"


class NotFound(PermanentFailure):
    """The desk has no such conversation."""


def _timeouts() -> tuple[float, float]:
    return getattr(settings, CONNECT_TIMEOUT, 2.0), getattr(settings, READ_TIMEOUT, 5.0)


def conversation_path(external_id: str, what: str = "") -> str:
    return f"/api/conversations/{external_id}" + (f"/{what}" if what else "")


def call(
    desk: DeskSettings,
    method: str,
    path: str,
    *,
    what: str,
    body: Any = None,
    params: dict[str, Any] | None = None,
    acted_on: bool = False,
) -> Any:
    """One request to the desk; its JSON answer (``None`` when empty).

    ``acted_on``: the call is not idempotent, so a failure after the request left (a
    timeout, a 5xx) may have been done: ``UnknownOutcome``, for the caller to check.
    """
    url = desk.desk_url.rstrip("/") + path
    headers = {"Authorization": f"Bearer {desk.api_token}"}
    maybe_done = UnknownOutcome if acted_on else TemporaryFailure
    try:
        response = requests.request(
            method, url, json=body, params=params, headers=headers, timeout=_timeouts()
        )
    except requests.ConnectTimeout:
        raise TemporaryFailure(f"The desk did not accept a connection for {what}.") from None
    except requests.Timeout:
        raise maybe_done(f"The desk did not answer {what} in time.") from None
    except requests.ConnectionError:
        raise maybe_done(f"The desk could not be reached for {what}.") from None
    status = response.status_code
    if status < 300:
        return response.json() if response.content else None
    said = f"The desk answered {status} to {what}"
    if status == 409 and _error(response) == "conversation_ended":
        raise ConversationOver(f"{said}: the conversation has ended.")
    if status == 429:
        raise TemporaryFailure(f"{said}.", retry_after=_retry_after(response))
    if status in (401, 403):
        raise TemporaryFailure(f"{said}: check the endpoint's API token.")
    if status >= 500:
        raise maybe_done(f"{said}.")
    if status == 404:
        raise NotFound(f"{said}: no such conversation.")
    raise PermanentFailure(f"{said}.")


def _error(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""


def _retry_after(response: requests.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None
