from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from aiohttp import web
from django.core.management.base import BaseCommand, CommandParser

from genesys.sandbox import SandboxState, create_app
from genesys.sandbox.app_keys import OPEN_MESSAGING
from genesys.sandbox.open_messaging_models import (
    DEMO_OPEN_INTEGRATION_ID,
    DEMO_OPEN_INTEGRATION_NAME,
    OpenIntegration,
)
from genesys.sandbox.state import (
    DEMO_CLIENT_ID,
    DEMO_DEPLOYMENT_ID,
    DEMO_ORGANIZATION_ID,
    DEMO_QUEUE_ID,
    DEMO_QUEUE_NAME,
)


class Command(BaseCommand):
    help = (
        "Run the local Genesys Cloud sandbox (OAuth, routing, analytics, web chat and its "
        "event stream, Open Messaging, notifications, control API, agent console) in the "
        "foreground. No database needed."
    )
    # The sandbox is standalone: no system checks, no database.
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument(
            "--open-integration",
            type=Path,
            help=(
                "A JSON file {integration_id, webhook_url, webhook_secret} configuring the "
                "Open Messaging integration at start (make run: written by seed_demo)."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger = logging.getLogger("genesys.sandbox")
        logger.handlers = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False

        base_url = f"http://{host}:{port}"
        lines = [
            f"Genesys Cloud sandbox: {base_url}",
            f"  set GENESYS_API_BASE_URL={base_url}",
            f"  OAuth client id: {DEMO_CLIENT_ID} (its secret is in the README)",
            f"  organisation id: {DEMO_ORGANIZATION_ID}",
            f"  deployment id:   {DEMO_DEPLOYMENT_ID}",
            f"  queue:           {DEMO_QUEUE_NAME} ({DEMO_QUEUE_ID})",
            f"  open messaging integration id: {DEMO_OPEN_INTEGRATION_ID}",
            f"  agent console:   {base_url}/console/",
        ]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()
        # Our middleware logs one line per request (method, path, status); aiohttp's access
        # log would add headers such as the referrer, so it is off.
        app = create_app(SandboxState())
        config = options.get("open_integration")
        if config is not None and config.exists():
            integration = json.loads(config.read_text())
            app[OPEN_MESSAGING].integrations[integration["integration_id"]] = OpenIntegration(
                integration["integration_id"],
                DEMO_OPEN_INTEGRATION_NAME,
                webhook_url=integration["webhook_url"],
                webhook_secret=integration["webhook_secret"],
            )
            self.stdout.write(f"  open messaging webhook: {integration['webhook_url']}")
        web.run_app(
            app,
            host=host,
            port=port,
            access_log=None,
            print=None,
            handle_signals=True,
        )
