"""Rate limits of authenticated API clients: a counter per client and fixed window.

DRF's throttles keep each client's history, a list of the timestamps of its requests in
the last window, and read and write it whole on every request: at ``6000/min`` a list of
up to 6,000 floats pickled both ways per request, and two requests at once lose one of
their writes. Here each client has one integer per window (``<scope>:<client>:<window>``),
incremented in the cache: on Django's Redis cache one round trip (``SET NX EX`` and
``INCR`` pipelined), elsewhere ``incr`` and ``add`` the first time in a window. The key
expires a window after its window ends.

A fixed window lets a client spend its budget at the end of one window and again at the
start of the next: at most twice the rate over a window's length, never more than the rate
within a window. Over the limit, DRF answers 429 with ``Retry-After``: the seconds until the
window ends.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from rest_framework import throttling
from rest_framework.settings import api_settings

if TYPE_CHECKING:  # rest_framework.views imports this module (DEFAULT_THROTTLE_CLASSES)
    from rest_framework.request import Request
    from rest_framework.views import APIView


def count_request(key: str, *, expires_in: float) -> int:
    """Add one to the counter at ``key`` (created expiring in ``expires_in`` seconds);
    its new value."""
    timeout = math.ceil(expires_in)
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        # One round trip: SET NX (the counter with its expiry, when it is the window's
        # first) and INCR, pipelined on the client Django's cache uses. Django stores an
        # int as its digits, so cache.get() reads the counter too.
        redis_key = backend.make_and_validate_key(key)
        pipeline = backend._cache.get_client(redis_key, write=True).pipeline(transaction=False)
        pipeline.set(redis_key, 0, ex=timeout, nx=True)
        pipeline.incr(redis_key)
        return int(pipeline.execute()[1])
    try:
        return cache.incr(key)
    except ValueError:  # first in its window
        if cache.add(key, 1, timeout=timeout):
            return 1
        return cache.incr(key)  # another request made it meanwhile


class UserRateThrottle(throttling.UserRateThrottle):
    """Per user (or channel), ``DEFAULT_THROTTLE_RATES[scope]`` in fixed windows.

    The rate is read when the throttle runs: DRF copies ``DEFAULT_THROTTLE_RATES`` into a
    class attribute at import time, so a changed ``REST_FRAMEWORK`` setting
    (``override_settings`` in tests) would never reach it; DRF reloads ``api_settings`` on
    ``setting_changed``, and reading from there follows it.
    """

    cache_format = "throttle:%(scope)s:%(ident)s"

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request: Request, view: APIView) -> bool:
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = time.time()
        window = int(now // self.duration)
        self.window_ends_at = (window + 1) * self.duration
        count = count_request(
            f"{key}:{window}", expires_in=self.window_ends_at - now + self.duration
        )
        return count <= self.num_requests

    def wait(self) -> float:
        """Seconds until the window ends (DRF rounds them up into ``Retry-After``)."""
        return max(self.window_ends_at - time.time(), 0.0)


class HandoverRateThrottle(UserRateThrottle):
    """The runtime API's own budget per user (``API_HANDOVER_THROTTLE_RATE``): a busy channel
    polls events and relays messages far more often than anyone reads configuration.
    """

    scope = "handover"
