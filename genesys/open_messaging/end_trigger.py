"""Is Genesys wired to call the end webhook? The README's recipe: a Process Automation
trigger on ``CUSTOMER_END_TOPIC`` whose Architect workflow calls a data action that POSTs
``{"conversationId"}`` to the End-of-handover Webhook URL with ``Authorization: Bearer <End
Webhook Secret>``.

``GET /api/v2/processautomation/triggers?topicName=…&enabled=true`` (the SDK's
``get_processautomation_triggers``; a ``TriggerEntityListing`` of ``Trigger`` {``id``,
``name``, ``topicName``, ``enabled``, ``target`` {``type``: ``Workflow``, ``id``}, …}),
permission ``processautomation:trigger:view``. What the workflow does is not readable
through this API: the finding names the trigger and its workflow for the administrator to
check.
"""

from __future__ import annotations

from typing import Any

from endpoints.fields import has_secret
from endpoints.providers import Finding
from genesys.models import OpenMessagingSettings
from genesys.platform import errors
from genesys.platform.client import GenesysClient

CUSTOMER_END_TOPIC = "v2.detail.events.conversation.{id}.customer.end"
TRIGGER_VIEW = "processautomation:trigger:view"
TRIGGERS_PATH = "/api/v2/processautomation/triggers"
PAGE_SIZE = 200  # the API's maximum
RECIPE = "the README's “End detection: the Genesys trigger recipe”"


def enabled_triggers(client: GenesysClient) -> list[dict[str, Any]]:
    """The enabled triggers on ``CUSTOMER_END_TOPIC`` (the first page: 200 is plenty)."""
    listing = client.request(
        "GET",
        TRIGGERS_PATH,
        what="the Process Automation trigger lookup",
        permission=TRIGGER_VIEW,
        params={"topicName": CUSTOMER_END_TOPIC, "enabled": "true", "pageSize": PAGE_SIZE},
    )
    return [
        trigger
        for trigger in (listing or {}).get("entities") or []
        if isinstance(trigger, dict)
        and trigger.get("enabled") is True
        and trigger.get("topicName") == CUSTOMER_END_TOPIC
    ]


def end_detection_finding(om_settings: OpenMessagingSettings) -> Finding:
    """Whether an enabled trigger calls the end webhook, or what end detection relies on."""
    client = GenesysClient.for_settings(om_settings)
    try:
        triggers = enabled_triggers(client)
    except errors.GenesysPermissionError:
        return Finding(
            False,
            "Could not check for a Genesys trigger calling the end webhook: the OAuth client "
            f"lacks {TRIGGER_VIEW}. Add it to a role of the OAuth client (Admin → "
            "Roles/Permissions, then Admin → Integrations → OAuth → your client → Roles).",
        )
    except errors.GenesysError as error:
        return Finding(False, f"Could not check for a Genesys trigger: {error}")
    if not triggers:
        return Finding(
            True,
            f"No enabled Process Automation trigger on {CUSTOMER_END_TOPIC}: end detection "
            "relies on the relay's Notifications API channels (manage.py relay; up to 1,000 "
            "conversations a channel, GENESYS_NOTIFICATIONS_MAX_CHANNELS channels). To have "
            f"Genesys call the end webhook as well, set up {RECIPE}.",
        )
    names = ", ".join(
        f"“{trigger.get('name') or trigger.get('id')}” (workflow "
        f"{(trigger.get('target') or {}).get('id') or 'unknown'})"
        for trigger in triggers
    )
    if not has_secret(om_settings, "end_webhook_secret"):
        return Finding(
            False,
            f"Enabled trigger on {CUSTOMER_END_TOPIC}: {names}, but no End Webhook Secret is "
            "stored: its data action's Authorization: Bearer header is refused. Enter the "
            "secret of the data action's credentials in End Webhook Secret.",
        )
    return Finding(
        True,
        f"Enabled trigger on {CUSTOMER_END_TOPIC}: {names}. Check that its workflow's data "
        "action POSTs to this endpoint's End-of-handover Webhook URL with the End Webhook "
        "Secret.",
    )
