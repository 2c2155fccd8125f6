from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from endpoints.models import ChannelType, Endpoint
from genesys.models import GenesysSettings, OAuth2Connection
from genesys.sandbox.state import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_DEPLOYMENT_ID,
    DEMO_ORGANIZATION_ID,
    DEMO_QUEUE_ID,
    DEMO_QUEUE_NAME,
)

DEMO_ENDPOINT = "Demo Webchat"
DEMO_CONNECTION = "Sandbox OAuth client"


class Command(BaseCommand):
    help = (
        "Create the demo endpoint “Demo Webchat” handing over to the Genesys Cloud sandbox "
        "(once; only while GENESYS_API_BASE_URL points at a sandbox, unless --force)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Seed even without a sandbox.")

    @transaction.atomic
    def handle(self, *args: Any, force: bool, **options: Any) -> None:
        if not (settings.GENESYS_API_BASE_URL or force):
            self.stdout.write("GENESYS_API_BASE_URL is not set: no demo data (real Genesys).")
            return
        if Endpoint.objects.filter(name=DEMO_ENDPOINT).exists():
            self.stdout.write(f"Demo endpoint “{DEMO_ENDPOINT}” exists.")
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
        self.stdout.write(
            self.style.SUCCESS(
                f"Created the demo endpoint “{DEMO_ENDPOINT}” ({endpoint.public_id}) on the "
                "Genesys Cloud sandbox."
            )
        )
