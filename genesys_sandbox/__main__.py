"""``python -m genesys_sandbox``: run the sandbox in the foreground (no Django, no database)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from aiohttp import web

from genesys_sandbox import SandboxState, create_app
from genesys_sandbox.app_keys import OPEN_MESSAGING
from genesys_sandbox.open_messaging_models import (
    DEMO_OPEN_INTEGRATION_ID,
    DEMO_OPEN_INTEGRATION_NAME,
    OpenIntegration,
)
from genesys_sandbox.state import (
    DEMO_CLIENT_ID,
    DEMO_DEPLOYMENT_ID,
    DEMO_ORGANIZATION_ID,
    DEMO_QUEUE_ID,
    DEMO_QUEUE_NAME,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m genesys_sandbox",
        description=(
            "Run the local Genesys Cloud sandbox (OAuth, routing, analytics, web chat and its "
            "event stream, Open Messaging, notifications, control API, agent console) in the "
            "foreground. No database needed."
        ),
    )
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
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    options = parse_args(argv)
    host, port = options.host, options.port
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("genesys_sandbox")
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
    # Our middleware logs one line per request (method, path, status); aiohttp's access
    # log would add headers such as the referrer, so it is off.
    app = create_app(SandboxState())
    config = options.open_integration
    if config is not None and config.exists():
        integration = json.loads(config.read_text())
        app[OPEN_MESSAGING].integrations[integration["integration_id"]] = OpenIntegration(
            integration["integration_id"],
            DEMO_OPEN_INTEGRATION_NAME,
            webhook_url=integration["webhook_url"],
            webhook_secret=integration["webhook_secret"],
        )
        lines.append(f"  open messaging webhook: {integration['webhook_url']}")
    print("\n".join(lines), flush=True)
    web.run_app(app, host=host, port=port, access_log=None, print=None, handle_signals=True)


if __name__ == "__main__":
    main()
