"""HTTP to Genesys Cloud: one pooled session per process, timeouts, retries, typed errors.

Retries back off exponentially with jitter on 429 (honouring ``Retry-After``), 502, 503
and 504 and on connection failures; never on other 4xx. A call that is not idempotent is
retried only where Genesys cannot have acted on it (429, or no connection made).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

from endpoints import backoff
from endpoints.handovers import leases
from endpoints.validators import printable
from genesys.platform import errors
from ops.instruments import GENESYS_REQUEST_SECONDS, GENESYS_REQUESTS

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Web chat: the conversation or the member is no longer in a state that allows the call.
CONVERSATION_ENDED_CODES = frozenset({"chat.error.conversation.state", "chat.error.member.state"})
_local = threading.local()


def session() -> requests.Session:
    """This process's session (recreated after a fork, so no pooled socket is shared)."""
    current = getattr(_local, "session", None)
    if current is None or getattr(_local, "pid", None) != os.getpid():
        current = requests.Session()
        adapter = HTTPAdapter(pool_connections=8, pool_maxsize=32, max_retries=0)
        current.mount("https://", adapter)
        current.mount("http://", adapter)
        current.headers["User-Agent"] = "handover-portal"
        _local.session, _local.pid = current, os.getpid()
    return current


def backoff_seconds(attempt: int) -> float:
    return backoff.backoff_seconds(
        attempt,
        base=settings.GENESYS_HTTP_BACKOFF_SECONDS,
        cap=settings.GENESYS_HTTP_BACKOFF_MAX_SECONDS,
    )


def retry_after_seconds(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def send(
    method: str,
    url: str,
    *,
    what: str,
    permission: str = "",
    idempotent: bool = True,
    **kwargs: Any,
) -> requests.Response:
    """Send one request to Genesys Cloud, retrying what may be retried; return a 2xx response.

    ``what`` names the call in errors and logs ("the token request", "the queue lookup");
    ``permission`` is the Genesys permission the call needs, named in a 403's message.
    """
    timeout = (settings.GENESYS_HTTP_CONNECT_TIMEOUT, settings.GENESYS_HTTP_READ_TIMEOUT)
    attempts = settings.GENESYS_HTTP_MAX_ATTEMPTS
    host = urlsplit(url).netloc
    path = urlsplit(url).path
    for attempt in range(1, attempts + 1):
        last = attempt == attempts
        leases.keep_alive()  # a worker's lease outlasts every attempt, however many
        try:
            response = _timed(method, url, timeout=timeout, **kwargs)
        except requests.ConnectTimeout:
            failure = f"{host} did not accept a connection within {timeout[0]:g} s"
            retryable = True
        except requests.Timeout:
            failure = f"{host} did not answer within {timeout[1]:g} s"
            retryable = idempotent
        except requests.ConnectionError:
            failure = f"{host} could not be reached"
            retryable = idempotent
        else:
            status = response.status_code
            if status not in RETRY_STATUSES or last or (status != 429 and not idempotent):
                break
            delay = retry_after_seconds(response) if status == 429 else None
            if delay is not None and delay > settings.GENESYS_HTTP_RETRY_AFTER_MAX_SECONDS:
                break  # waiting that long here would hold a worker; let the caller decide
            delay = backoff_seconds(attempt) if delay is None else delay
            logger.warning(
                "Genesys %s %s answered %s (attempt %s of %s); retrying in %.2f s",
                method,
                path,
                status,
                attempt,
                attempts,
                delay,
            )
            leases.keep_alive()
            time.sleep(delay)
            continue
        if last or not retryable:
            raise errors.GenesysUnavailable(f"Genesys Cloud failed {what}: {failure}")
        delay = backoff_seconds(attempt)
        logger.warning(
            "Genesys %s %s failed: %s (attempt %s of %s); retrying in %.2f s",
            method,
            path,
            failure,
            attempt,
            attempts,
            delay,
        )
        leases.keep_alive()
        time.sleep(delay)
    if response.ok:
        return response
    raise error_from_response(response, what=what, permission=permission)


def _timed(method: str, url: str, **kwargs: Any) -> requests.Response:
    """One attempt, counted by method and status and timed (``/metrics``)."""
    started = time.monotonic()
    status = "error"
    try:
        response = session().request(method, url, **kwargs)
        status = str(response.status_code)
        return response
    finally:
        GENESYS_REQUESTS.labels(method=method, status=status).inc()
        GENESYS_REQUEST_SECONDS.labels(method=method).observe(time.monotonic() - started)


def error_from_response(
    response: requests.Response, *, what: str, permission: str = ""
) -> errors.GenesysError:
    """The typed error for a non-2xx Genesys response, from its error body where it has one."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = {}
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
    kind = {
        400: errors.GenesysBadRequest,
        401: errors.GenesysAuthenticationError,
        404: errors.GenesysNotFound,
        409: errors.GenesysBadRequest,
        429: errors.GenesysRateLimited,
    }.get(status)
    if kind is None:
        kind = errors.GenesysUnavailable if status >= 500 else errors.GenesysError
    error = kind(message, **details)
    if status == 429:
        error.retry_after = retry_after_seconds(response)
    return error
