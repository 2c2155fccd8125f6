"""Serialized configuration bodies kept per ETag, so that a repeated read does not serialize
again.

The ETag of a configuration object (``endpoints.api.conditional``) already names everything
its body shows: the rows' ``updated_at`` (the endpoint, its provider's settings, their
OAuth2 connection), the permissions that change what the requester sees (a nested
connection in full or as its id), the format and ``REPRESENTATION_VERSION``. So the body
is kept under that ETag: a change to any of those makes a new ETag, and the old body is
never served again (it ages out). Who may read the object at all is decided before
(confinement, permissions): the cache only saves the serializer's work.

In the process (a bounded LRU, ``MAX_BODIES``), not in Django's cache: a body is a few
hundred bytes of Python objects that would cost more to pickle and fetch than to keep, and
a new release starts with an empty one. Emptied when a setting changes (tests).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver

#: Bodies kept per process; an endpoint's takes 1 to 2 KB of memory.
MAX_BODIES = 4096


class RepresentationCache:
    """A thread-safe LRU of bodies by ETag, holding at most ``max_entries``."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._bodies: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._bodies)

    def get_many(self, etags: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The bodies kept for ``etags`` (those not kept are left out)."""
        found = {}
        with self._lock:
            for etag in etags:
                body = self._bodies.get(etag)
                if body is not None:
                    self._bodies.move_to_end(etag)
                    found[etag] = body
        return found

    def put(self, etag: str, body: dict[str, Any]) -> None:
        """Keep ``body`` (a plain dict: DRF's ``ReturnDict`` would keep its serializer, and
        with it the request, alive) under ``etag``."""
        with self._lock:
            self._bodies[etag] = dict(body)
            self._bodies.move_to_end(etag)
            while len(self._bodies) > self.max_entries:
                self._bodies.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._bodies.clear()


bodies = RepresentationCache(MAX_BODIES)


@receiver(setting_changed)
def _forget_on_setting_change(**kwargs: Any) -> None:
    # A setting (the providers, the time zone) may change what a body shows.
    bodies.clear()
