from __future__ import annotations

import json
import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from endpoints.models import ChannelType, Endpoint
from genesys.models import GenesysSettings, OAuth2Connection, OpenMessagingSettings
from genesys_sandbox.open_messaging_models import (
    DEMO_OPEN_INTEGRATION_ID,
    DEMO_OPEN_INTEGRATION_NAME,
)
from genesys_sandbox.state import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_DEPLOYMENT_ID,
    DEMO_ORGANIZATION_ID,
    DEMO_QUEUE_ID,
    DEMO_QUEUE_NAME,
)

DEMO_ENDPOINT = "Demo Webchat"
DEMO_CONNECTION = "Sandbox OAuth client"
#: Read by ``python -m genesys_sandbox --open-integration`` so the sandbox's demo Open Messaging
#: integration calls the demo endpoint's webhook with the demo secret.
SANDBOX_INTEGRATION_FILE = settings.DATA_DIR / "sandbox-open-integration.json"


class Command(BaseCommand):
    help = (
        "Create the demo endpoint “Demo Webchat” handing over to the Genesys Cloud sandbox, "
        "with Open Messaging settings ready to switch to (once; only while "
        "GENESYS_API_BASE_URL points at a sandbox, unless --force)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Seed even without a sandbox.")
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Where this app serves, for the sandbox's Open Messaging webhook.",
        )

    @transaction.atomic
    def handle(self, *args: Any, force: bool, base_url: str, **options: Any) -> None:
        if not (settings.GENESYS_API_BASE_URL or force):
            self.stdout.write("GENESYS_API_BASE_URL is not set: no demo data (real Genesys).")
            return
        existing = Endpoint.objects.filter(name=DEMO_ENDPOINT).first()
        if existing is not None:
            self.stdout.write(f"Demo endpoint “{DEMO_ENDPOINT}” exists.")
            self.write_sandbox_integration(existing, base_url)
            return
        connection, _created = OAuth2Connection.objects.get_or_create(
            name=DEMO_CONNECTION,
            defaults={
                "oauth_url": "https://login.mypurecloud.de/oauth/token",
                "client_id": DEMO_CLIENT_ID,
                "client_secret": DEMO_CLIENT_SECRET,
            },
        )
        endpoint = Endpoint.objects.create(
            name=DEMO_ENDPOINT, channel_type=ChannelType.WEBCHAT, handover_provider="genesys"
        )
        GenesysSettings.objects.create(
            endpoint=endpoint,
            host="mypurecloud.de",
            organization_id=DEMO_ORGANIZATION_ID,
            deployment_id=DEMO_DEPLOYMENT_ID,
            queue_name=DEMO_QUEUE_NAME,
            queue_id=DEMO_QUEUE_ID,
            node_authentication=connection,
        )
        OpenMessagingSettings.objects.create(
            endpoint=endpoint,
            host="mypurecloud.de",
            integration_id=DEMO_OPEN_INTEGRATION_ID,
            deployment_name=DEMO_OPEN_INTEGRATION_NAME,
            queue_name=DEMO_QUEUE_NAME,
            queue_id=DEMO_QUEUE_ID,
            node_authentication=connection,
            webhook_secret=secrets.token_urlsafe(24),
        )
        self.write_sandbox_integration(endpoint, base_url)
        self.stdout.write(
            self.style.SUCCESS(
                f"Created the demo endpoint “{DEMO_ENDPOINT}” ({endpoint.public_id}) on the "
                "Genesys Cloud sandbox."
            )
        )

    def write_sandbox_integration(self, endpoint: Endpoint, base_url: str) -> None:
        """Tell the sandbox (at its next start) where to send Open Messaging webhooks."""
        om_settings = OpenMessagingSettings.objects.filter(endpoint=endpoint).first()
        if om_settings is None or not om_settings.webhook_secret:
            return
        SANDBOX_INTEGRATION_FILE.parent.mkdir(parents=True, exist_ok=True)
        SANDBOX_INTEGRATION_FILE.write_text(
            json.dumps(
                {
                    "integration_id": str(om_settings.integration_id),
                    "webhook_url": base_url.rstrip("/") + om_settings.webhook_path(),
                    "webhook_secret": om_settings.webhook_secret,
                }
            )
        )
        SANDBOX_INTEGRATION_FILE.chmod(0o600)
