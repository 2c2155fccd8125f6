"""The API runs outside ``ATOMIC_REQUESTS``: no transaction per request.

``ATOMIC_REQUESTS`` wraps every view in a transaction, which costs a read two more round
trips (``BEGIN``, ``COMMIT``) and holds whatever a write locked (a handover's row, a key's
``last_used_at``) until the response is rendered. The admin keeps it; the API's URLconf is
taken out of it as a whole (``outside_atomic_requests``), so a view added later is too.
Every write of the API is atomic where it is made: the services it calls
(``endpoints.handovers.services``) take ``transaction.atomic()`` around what must be
written together, and a single ``UPDATE`` (``ChannelAPIKey.record_use``) is atomic itself.

DRF's exception handler marks every open transaction for rollback when ``ATOMIC_REQUESTS``
is on, taking it for the request's own; outside it, a transaction open at that point is
someone else's (a test's) and is left as it was (``rollback_flags_kept``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from django.db import connections, transaction
from django.http import HttpRequest
from django.urls import URLPattern, URLResolver


def outside_atomic_requests(
    patterns: Sequence[URLPattern | URLResolver],
) -> Sequence[URLPattern | URLResolver]:
    """Mark every view under ``patterns`` (included URLconfs too) as not atomic, for every
    database; returns ``patterns``."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            outside_atomic_requests(pattern.url_patterns)
            continue
        for alias in connections:
            # Marks the view function itself (DRF's as_view() makes one per route).
            transaction.non_atomic_requests(alias)(pattern.callback)
    return patterns


@contextlib.contextmanager
def rollback_flags_kept(request: HttpRequest | None) -> Iterator[None]:
    """Within it, the rollback flag of each database the request's view runs outside
    ``ATOMIC_REQUESTS`` on stays as it was."""
    view = getattr(getattr(request, "resolver_match", None), "func", None)
    outside = getattr(view, "_non_atomic_requests", set())
    kept = {
        alias: connections[alias].needs_rollback
        for alias in outside
        if connections[alias].in_atomic_block
    }
    yield
    for alias, needs_rollback in kept.items():
        connections[alias].set_rollback(needs_rollback)
