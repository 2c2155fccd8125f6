"""HTTP to Genesys Cloud from the relay's event loop (aiohttp): the same retries, timeouts
and typed errors as the blocking client (``http``), from the same policy (``retrying``)
and the same mapping (``error_mapping``); WebSocket connects too.

No lease is renewed here: the relay holds handovers by ownership, not by worker leases.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import aiohttp

from genesys.platform import errors
from genesys.platform.error_mapping import (
    Failure,
    error_for_failure,
    error_for_status,
    failure_text,
    retry_after_seconds,
)
from genesys.platform.retrying import Attempts
from ops.instruments import GENESYS_REQUEST_SECONDS, GENESYS_REQUESTS


async def send(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    what: str,
    permission: str = "",
    idempotent: bool = True,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, Any] | None = None,
    json: Any = None,
    timeout: float | None = None,
) -> Any:
    """Send one request, retrying what may be retried; the 2xx answer's JSON (or ``None``).

    ``timeout`` caps each attempt as a whole, besides the connect and read timeouts
    (``GENESYS_HTTP_CONNECT_TIMEOUT``, ``GENESYS_HTTP_READ_TIMEOUT``); when it runs out the
    attempt counts as a read timeout.
    """
    attempts = Attempts(method, url, what, idempotent=idempotent)
    client_timeout = aiohttp.ClientTimeout(
        sock_connect=attempts.connect_timeout, sock_read=attempts.read_timeout
    )
    while True:
        started = time.monotonic()
        status = "error"
        try:
            async with (
                asyncio.timeout(timeout),
                http.request(
                    method,
                    url,
                    headers=headers,
                    params=params,
                    json=json,
                    timeout=client_timeout,
                ) as response,
            ):
                status = str(response.status)
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = None
        except aiohttp.ConnectionTimeoutError:
            delay = attempts.after_failure(Failure.CONNECT_TIMEOUT)
        except TimeoutError:  # aiohttp's read timeout, or ``timeout`` ran out
            delay = attempts.after_failure(Failure.READ_TIMEOUT)
        except (aiohttp.ClientError, OSError):
            delay = attempts.after_failure(Failure.CONNECTION)
        else:
            if 200 <= response.status < 300:
                return body
            delay = attempts.after_answer(response.status, retry_after)
            if delay is None:
                raise error_for_status(
                    response.status,
                    body,
                    what=what,
                    permission=permission,
                    retry_after=retry_after,
                )
        finally:
            GENESYS_REQUESTS.labels(method=method, status=status).inc()
            GENESYS_REQUEST_SECONDS.labels(method=method).observe(time.monotonic() - started)
        await asyncio.sleep(delay)


async def connect_websocket(
    http: aiohttp.ClientSession,
    uri: str,
    *,
    what: str,
    total_timeout: float | None = None,
    **options: Any,
) -> aiohttp.ClientWebSocketResponse:
    """Open a WebSocket (once: the caller's reconnect loop is the retry).

    A refused handshake raises the error its status maps to (a 429 with its
    ``Retry-After``); no connection, ``GenesysUnavailable``. Messages name the host, never
    the URI, which may carry a token. ``total_timeout`` caps the whole connect (default:
    the connect and read timeouts together); ``options`` go to ``ws_connect``.
    """
    attempts = Attempts("GET", uri, what)
    if total_timeout is None:
        total_timeout = attempts.connect_timeout + attempts.read_timeout
    try:
        async with asyncio.timeout(total_timeout):
            return await http.ws_connect(uri, **options)
    except aiohttp.WSServerHandshakeError as error:
        retry_after = retry_after_seconds((error.headers or {}).get("Retry-After"))
        raise error_for_status(error.status, None, what=what, retry_after=retry_after) from None
    except aiohttp.ConnectionTimeoutError:
        raise _no_answer(Failure.CONNECT_TIMEOUT, attempts) from None
    except TimeoutError:
        raise _no_answer(Failure.READ_TIMEOUT, attempts, timeout=total_timeout) from None
    except (aiohttp.ClientError, OSError):
        raise _no_answer(Failure.CONNECTION, attempts) from None


def _no_answer(
    failure: Failure, attempts: Attempts, *, timeout: float | None = None
) -> errors.GenesysUnavailable:
    said = failure_text(
        failure,
        host=attempts.host,
        connect_timeout=attempts.connect_timeout,
        read_timeout=timeout or attempts.read_timeout,
    )
    return error_for_failure(said, what=attempts.what)
