"""POST data for the endpoint admin form, as the browser sends it."""

from __future__ import annotations

import uuid

from endpoints.models import Endpoint

PREFIX = "genesys_settings"
OM_PREFIX = "genesys_om_settings"


def om_fields(**values: str) -> dict[str, str]:
    """The Genesys Cloud Open Messaging inline's fields (Node Authentication to fill in)."""
    return {
        "host": "mypurecloud.de",
        "integration_id": str(uuid.uuid4()),
        "deployment_name": "Support bot messaging",
        "queue_name": "Cognigy HQ Queue",
        "queue_id": str(uuid.uuid4()),
        "session_duration_minutes": "20",
        "node_authentication": "",
        "webhook_secret": "",
        **values,
    }


def genesys_fields(**values: str) -> dict[str, str]:
    fields = {
        "host": "mypurecloud.de",
        "organization_id": str(uuid.uuid4()),
        "deployment_id": str(uuid.uuid4()),
        "queue_name": "Cognigy HQ Queue",
        "queue_id": str(uuid.uuid4()),
        "session_duration_minutes": "20",
        "node_authentication": "",
        **values,
    }
    if fields.get("send_profile_information") in (False, "", None):
        fields.pop("send_profile_information", None)
    return fields


def endpoint_form(
    endpoint: Endpoint | None = None,
    *,
    genesys: dict[str, str] | None = None,
    om: dict[str, str] | None = None,
    **general: str,
) -> dict[str, str]:
    """The endpoint form's POST data; ``genesys`` fills the Genesys Cloud inline, ``om`` the
    Open Messaging one (empty otherwise, as the browser sends a hidden inline)."""
    settings = getattr(endpoint, "genesys_settings", None) if endpoint else None
    om_settings = getattr(endpoint, "genesys_om_settings", None) if endpoint else None
    data = {
        "name": "Support bot",
        "channel_type": "webchat",
        "callback_url": "",
        "handover_provider": "genesys",
        f"{PREFIX}-TOTAL_FORMS": "1",
        f"{PREFIX}-INITIAL_FORMS": "1" if settings else "0",
        f"{PREFIX}-MIN_NUM_FORMS": "1",
        f"{PREFIX}-MAX_NUM_FORMS": "1",
        f"{PREFIX}-0-id": str(settings.pk) if settings else "",
        f"{PREFIX}-0-endpoint": str(endpoint.pk) if endpoint else "",
        **general,
    }
    for name, value in (genesys if genesys is not None else genesys_fields()).items():
        data[f"{PREFIX}-0-{name}"] = value
    data.update(
        {
            f"{OM_PREFIX}-TOTAL_FORMS": "1",
            f"{OM_PREFIX}-INITIAL_FORMS": "1" if om_settings else "0",
            f"{OM_PREFIX}-MIN_NUM_FORMS": "1",
            f"{OM_PREFIX}-MAX_NUM_FORMS": "1",
            f"{OM_PREFIX}-0-id": str(om_settings.pk) if om_settings else "",
            f"{OM_PREFIX}-0-endpoint": str(endpoint.pk) if endpoint else "",
        }
    )
    for name, value in (om if om is not None else dict.fromkeys(om_fields(), "")).items():
        if name != "send_profile_information" or value:
            data[f"{OM_PREFIX}-0-{name}"] = value
    return data
