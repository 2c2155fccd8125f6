"""``genesys_relay``: holds the event streams of every open Genesys web chat handover, and
one Notifications API channel per OAuth connection for the open Open Messaging handovers
(``genesys.relay``), until SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from prometheus_client import start_http_server

from genesys.relay import GenesysRelay


class Command(BaseCommand):
    help = "Relay agent events of every open Genesys web chat handover (runs until stopped)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--poll-seconds",
            type=float,
            default=settings.GENESYS_RELAY_POLL_SECONDS,
            help="How often to look for handovers to start or stop holding.",
        )
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=None,
            help="Serve this process's Prometheus metrics (Genesys calls, token requests, "
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
        if metrics_port is not None:
            server, _ = start_http_server(metrics_port, addr=metrics_address)
            self.stdout.write(
                f"Genesys relay: metrics on http://{metrics_address}:{server.server_port}/"
            )
        self.stdout.write(
            f"Genesys relay: holding event streams (polling every {poll_seconds:g} s)"
        )
        self.stdout.flush()
        asyncio.run(self.relay(GenesysRelay(poll_seconds=poll_seconds)))
        self.stdout.write("Genesys relay: stopped")

    async def relay(self, relay: GenesysRelay) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await relay.run(stop)
