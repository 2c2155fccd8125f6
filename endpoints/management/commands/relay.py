"""``relay``: runs every relay listener the configured providers declare (web chat event
streams, notification channels…) until SIGTERM or SIGINT (``endpoints.handovers.relay``)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from prometheus_client import start_http_server

from endpoints.handovers.relay import RelayListener, configured_listeners, run_listeners
from endpoints.providers import relay_listeners

#: Logged once every listener is running (process supervisors and tests wait for it).
READY = "Relay: running"


class Command(BaseCommand):
    help = (
        "Hold the connections every provider's open handovers need (event streams, "
        "notification channels) and relay their events; runs until stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--poll-seconds",
            type=float,
            default=settings.RELAY_POLL_SECONDS,
            help="How often to look for handovers to start or stop holding.",
        )
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=None,
            help="Serve this process's Prometheus metrics (provider calls, token requests, "
            "stream reconnects) on this port, at --metrics-address (loopback by default).",
        )
        parser.add_argument("--metrics-address", default="127.0.0.1")

    def handle(
        self,
        *args: Any,
        poll_seconds: float,
        metrics_port: int | None = None,
        metrics_address: str = "127.0.0.1",
        **options: Any,
    ) -> None:
        declared = relay_listeners()
        if not declared:
            raise CommandError(
                "No configured provider declares a relay listener: there is nothing to relay."
            )
        if metrics_port is not None:
            server, _ = start_http_server(metrics_port, addr=metrics_address)
            self.stdout.write(f"Relay: metrics on http://{metrics_address}:{server.server_port}/")
        listeners = configured_listeners(poll_seconds=poll_seconds)
        served = "; ".join(f"{path} for {', '.join(ids)}" for path, ids in declared.items())
        self.stdout.write(f"{READY} {served} (polling every {poll_seconds:g} s)")
        self.stdout.flush()
        asyncio.run(self.relay(listeners))
        self.stdout.write("Relay: stopped")

    async def relay(self, listeners: Sequence[RelayListener]) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await run_listeners(listeners, stop)
