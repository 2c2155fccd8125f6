"""HTTP to Genesys Cloud from blocking code (web and Celery workers, the relay's threads):
one pooled ``requests`` session per process, timeouts, retries, typed errors.

When to try again is ``retrying``'s policy and what an answer means is ``error_mapping``'s,
both shared with the relay's asyncio client (``async_http``). Before each attempt and each
wait it renews the worker's lease (``endpoints.handovers.leases.keep_alive``).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from endpoints.handovers import leases
from genesys.platform.error_mapping import Failure, error_for_status, retry_after_seconds
from genesys.platform.retrying import Attempts
from ops.instruments import GENESYS_REQUEST_SECONDS, GENESYS_REQUESTS

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
    attempts = Attempts(method, url, what, idempotent=idempotent)
    timeout = (attempts.connect_timeout, attempts.read_timeout)
    while True:
        leases.keep_alive()  # a worker's lease outlasts every attempt, however many
        try:
            response = _timed(method, url, timeout=timeout, **kwargs)
        except requests.ConnectTimeout:
            delay = attempts.after_failure(Failure.CONNECT_TIMEOUT)
        except requests.Timeout:
            delay = attempts.after_failure(Failure.READ_TIMEOUT)
        except requests.ConnectionError:
            delay = attempts.after_failure(Failure.CONNECTION)
        else:
            if response.ok:
                return response
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            delay = attempts.after_answer(response.status_code, retry_after)
            if delay is None:
                raise error_for_status(
                    response.status_code,
                    _json_or_none(response),
                    what=what,
                    permission=permission,
                    retry_after=retry_after,
                )
        leases.keep_alive()
        time.sleep(delay)


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


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
