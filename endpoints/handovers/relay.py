"""The relay process's side of every provider: what a relay listener is, and running them.

Some of a provider's events reach us only over connections we hold open (web chat event
streams, notification channels). A provider declares the class that holds them
(``HandoverProvider.relay_listener``); the ``relay`` command runs one listener per class
for the providers that name it, side by side on one asyncio loop, until it is stopped.
A listener divides its providers' open handovers with the other replicas through
``endpoints.handovers.relay_ownership``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

from django.utils.module_loading import import_string

from endpoints.providers import relay_listeners

logger = logging.getLogger("endpoints.relay")


class RelayListener(Protocol):
    """What the ``relay`` command runs for one or more providers."""

    def __init__(self, *, providers: tuple[str, ...], poll_seconds: float) -> None: ...

    async def run(self, stop: asyncio.Event) -> None:
        """Hold the providers' connections for the handovers this replica owns until
        ``stop`` is set; then release them (another replica takes them over)."""
        ...


def configured_listeners(*, poll_seconds: float) -> list[RelayListener]:
    """One listener per class the configured providers name, each given its providers."""
    return [
        import_string(dotted)(providers=providers, poll_seconds=poll_seconds)
        for dotted, providers in relay_listeners().items()
    ]


async def run_listeners(listeners: Sequence[RelayListener], stop: asyncio.Event) -> None:
    """Run every listener until ``stop`` is set.

    A listener that fails stops them all (each releasing its handovers) and the error is
    raised: the process exits, and its supervisor restarts it, rather than living on with
    one provider's events no longer relayed.
    """

    async def guarded(listener: RelayListener) -> None:
        try:
            await listener.run(stop)
        except BaseException:
            logger.exception("Relay: %s failed; stopping every listener", type(listener).__name__)
            stop.set()
            raise

    results = await asyncio.gather(
        *(guarded(listener) for listener in listeners), return_exceptions=True
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result
