"""The Test Desk provider: everything the project needs of it, declared in one class."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings

from endpoints.fields import has_secret
from endpoints.providers import HandoverProvider

if TYPE_CHECKING:
    from endpoints.models import Endpoint

#: The beat entry (run every ``DESK_RECONCILE_SECONDS``, 300 by default) and its task.
RECONCILE_ENTRY = "desk-reconcile-ended-conversations"
RECONCILE_TASK = "desk_provider.tasks.desk_reconcile_task"


class DeskProvider(HandoverProvider):
    id = "desk"
    label = "Test Desk"
    settings_model = "desk_provider.DeskSettings"
    admin_inline = "tests.desk_provider.admin.DeskSettingsInline"
    api_serializer = "tests.desk_provider.serializers.DeskSettingsSerializer"
    transport = "tests.desk_provider.transport.DeskTransport"
    # Mounted at /desk_provider/: no url_prefix, so the app's label.
    urls = "tests.desk_provider.urls"
    relay_listener = "tests.desk_provider.relay.DeskRelay"

    def periodic_tasks(self) -> Mapping[str, Mapping[str, Any]]:
        return {
            RECONCILE_ENTRY: {
                "task": RECONCILE_TASK,
                "schedule": getattr(settings, "DESK_RECONCILE_SECONDS", 300.0),
            }
        }

    def handover_refusal(self, endpoint: Endpoint) -> str | None:
        desk = self.get_settings(endpoint)
        if desk is None or not has_secret(desk, "api_token"):
            return (
                f"Test Desk settings of endpoint “{endpoint.name}” are incomplete: fill in "
                "Desk URL and API Token in its Handover Settings."
            )
        return None
