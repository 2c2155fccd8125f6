"""When a Genesys Cloud call is tried again, and after how long: one policy, both clients.

A call gets up to ``GENESYS_HTTP_MAX_ATTEMPTS`` attempts. It is tried again on 429, 502,
503 and 504 and when an attempt got no answer (a timeout, no connection); never on any
other status. A call that is not idempotent (it would act twice) is tried again only
where Genesys cannot have acted on it: a 429, or no connection made. Between attempts it
waits the one backoff formula (``endpoints.backoff``, with ``GENESYS_HTTP_BACKOFF_SECONDS``
and ``GENESYS_HTTP_BACKOFF_MAX_SECONDS``; the n-th wait is backoff(n)), or a 429's
``Retry-After``; one asking for longer than ``GENESYS_HTTP_RETRY_AFTER_MAX_SECONDS``
fails at once (``GenesysRateLimited.retry_after`` tells the caller), so that no worker is
held that long.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings

from endpoints.backoff import backoff_seconds
from genesys.platform.error_mapping import Failure, error_for_failure, failure_text

logger = logging.getLogger("genesys.platform.http")

RETRY_STATUSES = frozenset({429, 502, 503, 504})


@dataclass
class Attempts:
    """The attempts of one call, as the clients' loops ask about them.

    After each attempt that did not succeed, ``after_answer`` (an HTTP answer) or
    ``after_failure`` (none) says how long to wait before the next; ``None`` (an answer)
    or ``GenesysUnavailable`` (no answer) when there is no next.
    """

    method: str
    url: str
    what: str
    idempotent: bool = True
    #: This attempt's number, from 1.
    attempt: int = 1
    max_attempts: int = field(default_factory=lambda: settings.GENESYS_HTTP_MAX_ATTEMPTS)
    connect_timeout: float = field(default_factory=lambda: settings.GENESYS_HTTP_CONNECT_TIMEOUT)
    read_timeout: float = field(default_factory=lambda: settings.GENESYS_HTTP_READ_TIMEOUT)

    @property
    def last(self) -> bool:
        return self.attempt >= self.max_attempts

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    def after_answer(self, status: int, retry_after: float | None) -> float | None:
        """The wait before the next attempt after a non-2xx ``status``, or ``None``: the
        answer is final (the caller raises its error, ``error_mapping.error_for_status``)."""
        if status not in RETRY_STATUSES or self.last:
            return None
        if status != 429 and not self.idempotent:
            return None
        if status == 429 and retry_after is not None:
            if retry_after > settings.GENESYS_HTTP_RETRY_AFTER_MAX_SECONDS:
                return None  # waiting that long here would hold a worker; the caller decides
            delay = retry_after
        else:
            delay = self._backoff()
        self._next(f"answered {status}", delay)
        return delay

    def after_failure(self, failure: Failure) -> float:
        """The wait before the next attempt after one without an answer; raises
        ``GenesysUnavailable`` when there is none."""
        said = failure_text(
            failure,
            host=self.host,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
        )
        if self.last or (failure.may_have_arrived and not self.idempotent):
            raise error_for_failure(said, what=self.what)
        delay = self._backoff()
        self._next(f"failed: {said}", delay)
        return delay

    def _backoff(self) -> float:
        return backoff_seconds(
            self.attempt,
            base=settings.GENESYS_HTTP_BACKOFF_SECONDS,
            cap=settings.GENESYS_HTTP_BACKOFF_MAX_SECONDS,
        )

    def _next(self, outcome: str, delay: float) -> None:
        logger.warning(
            "Genesys %s %s %s (attempt %s of %s); retrying in %.2f s",
            self.method,
            urlsplit(self.url).path,
            outcome,
            self.attempt,
            self.max_attempts,
            delay,
        )
        self.attempt += 1
