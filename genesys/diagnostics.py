""" "Test connection": what an administrator needs to know about a Genesys setup, in words."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from endpoints.fields import has_secret
from endpoints.models import Endpoint
from endpoints.providers import Finding
from genesys.availability import fetch_agent_availability, settings_of
from genesys.models import GenesysQueueSettings, OAuth2Connection, OpenMessagingSettings
from genesys.open_messaging.end_trigger import end_detection_finding
from genesys.platform import errors, tokens
from genesys.platform.client import OAUTH_CLIENT_VIEW, ROLE_VIEW, GenesysClient


def connection_findings(connection: OAuth2Connection) -> list[Finding]:
    """Does the token request of ``connection`` succeed?"""
    region = connection.region
    if region is None:
        return [Finding(False, "The OAuth URL is not a Genesys Cloud token URL: correct it.")]
    try:
        grant = tokens.request_token(connection, region)
    except errors.GenesysError as error:
        return [Finding(False, str(error))]
    return [
        Finding(
            True,
            f"Genesys Cloud {region} issued a token to “{connection}” "
            f"(valid for {_duration(grant.expires_in)}).",
        )
    ]


def endpoint_findings(endpoint: Endpoint) -> list[Finding]:
    """Token, queue and availability figures of the endpoint's Genesys settings."""
    try:
        genesys_settings = settings_of(endpoint)
    except errors.GenesysError as error:
        return [Finding(False, str(error))]
    connection = genesys_settings.node_authentication
    if connection is None:
        return [
            Finding(
                False,
                "Node Authentication is not set: the queue and agent availability checks need "
                "an OAuth2 connection.",
            )
        ]
    findings = connection_findings(connection)
    if not findings[-1].ok:
        return findings
    queue = _queue_finding(genesys_settings)
    findings.append(queue)
    if not queue.ok:
        return findings
    try:
        figures = fetch_agent_availability(genesys_settings)
    except errors.GenesysError as error:
        findings.append(Finding(False, str(error)))
        return findings
    wait = (
        "no estimate"
        if figures.estimated_wait_seconds is None
        else f"{figures.estimated_wait_seconds} s"
    )
    findings.append(
        Finding(
            True,
            f"Agent availability: {'available' if figures.available else 'not available'}: "
            f"{figures.agents_on_queue} agents on queue, {figures.agents_idle} idle, "
            f"{figures.conversations_waiting} conversations waiting, estimated wait {wait}.",
        )
    )
    return findings


def _queue_finding(genesys_settings: GenesysQueueSettings) -> Finding:
    client = GenesysClient.for_settings(genesys_settings)
    queue_id = genesys_settings.queue_id
    try:
        queue = client.get_queue(str(queue_id))
    except errors.GenesysNotFound:
        return Finding(
            False,
            f"Queue ID {queue_id} was not found in the organisation of {genesys_settings.region}: "
            "check the Queue ID and the Host.",
        )
    except errors.GenesysError as error:
        return Finding(False, str(error))
    name = str((queue or {}).get("name", ""))
    if name != genesys_settings.queue_name:
        return Finding(
            False,
            f"Queue ID {queue_id} is “{name}” in Genesys Cloud, but Queue Name says "
            f"“{genesys_settings.queue_name}”: web chat routes by name, so correct the Queue Name.",
        )
    return Finding(True, f"Queue “{name}” found.")


def om_endpoint_findings(endpoint: Endpoint) -> list[Finding]:
    """Open Messaging: token, the integration and its webhook URL, the OAuth client's
    permissions, queue, availability, end detection (the Genesys trigger)."""
    from genesys.open_messaging import client as open_messaging

    try:
        om_settings = settings_of(endpoint)
    except errors.GenesysError as error:
        return [Finding(False, str(error))]
    if not isinstance(om_settings, OpenMessagingSettings):  # pragma: no cover
        return [Finding(False, "These are not Open Messaging settings.")]
    connection = om_settings.node_authentication
    findings = connection_findings(connection)
    if not findings[-1].ok:
        return findings
    findings.append(_integration_finding(om_settings, open_messaging))
    findings.append(permissions_finding(om_settings, open_messaging.REQUIRED_PERMISSIONS))
    queue = _queue_finding(om_settings)
    findings.append(queue)
    if queue.ok:
        try:
            figures = fetch_agent_availability(om_settings)
        except errors.GenesysError as error:
            findings.append(Finding(False, str(error)))
        else:
            findings.append(
                Finding(
                    True,
                    f"Agent availability (messages): "
                    f"{'available' if figures.available else 'not available'}: "
                    f"{figures.agents_on_queue} agents on queue, {figures.agents_idle} idle, "
                    f"{figures.conversations_waiting} conversations waiting.",
                )
            )
    findings.append(end_detection_finding(om_settings))
    if not has_secret(om_settings, "webhook_secret"):
        findings.append(
            Finding(False, "No Webhook Signature Secret is stored: every agent message is refused.")
        )
    return findings


def _integration_finding(om_settings: OpenMessagingSettings, open_messaging) -> Finding:
    client = GenesysClient.for_settings(om_settings)
    try:
        integration = open_messaging.get_integration(client, str(om_settings.integration_id))
    except errors.GenesysNotFound:
        return Finding(
            False,
            f"Open Messaging integration {om_settings.integration_id} was not found in the "
            f"organisation of {om_settings.region}: check the Integration ID and the Host.",
        )
    except errors.GenesysError as error:
        return Finding(False, str(error))
    name = str(integration.get("name") or "")
    url = str(integration.get("outboundNotificationWebhookUrl") or "")
    expected = om_settings.webhook_path()
    if not url.rstrip("/").endswith(expected.rstrip("/")):
        return Finding(
            False,
            f"Integration “{name}” sends agent messages to {url or 'no URL'}, not to this "
            "endpoint's Outbound Notification Webhook URL: paste the URL shown in the Open "
            "Messaging settings into the integration.",
        )
    return Finding(True, f"Open Messaging integration “{name}” found; its webhook URL is ours.")


FIX_ROLES = (
    "Add them to a role of the OAuth client: Admin → Roles/Permissions, then Admin → "
    "Integrations → OAuth → your client → Roles"
)


def permissions_finding(genesys_settings: GenesysQueueSettings, required: Iterable[str]) -> Finding:
    """Do the roles of the Node Authentication's OAuth client grant ``required``?

    ``GET /api/v2/oauth/clients/{clientId}`` (``OAuthClient``: ``roleDivisions``/``roleIds``),
    then ``GET /api/v2/authorization/roles/{roleId}`` for each role
    (``DomainOrganizationRole``: ``permissions`` and ``permissionPolicies``).
    """
    required = list(required)
    client = GenesysClient.for_settings(genesys_settings)
    client_id = str(client.connection.client_id)
    try:
        oauth_client = client.get_oauth_client(client_id)
        granted: set[tuple[str, str, str]] = set()
        for role_id in _role_ids(oauth_client):
            granted |= role_grants(client.get_role(role_id))
    except errors.GenesysPermissionError:
        return Finding(
            False,
            "Could not check the OAuth client's permissions: it may not read its own "
            f"definition (it needs {OAUTH_CLIENT_VIEW} and {ROLE_VIEW} for this check). "
            f"Add those two to check automatically, or verify by hand that its roles grant: "
            f"{', '.join(required)}.",
        )
    except errors.GenesysError as error:
        return Finding(
            False,
            f"Could not check the OAuth client's permissions: {error} Verify by hand that "
            f"its roles grant: {', '.join(required)}.",
        )
    missing = [p for p in required if not is_granted(p, granted)]
    if missing:
        return Finding(
            False,
            f"The OAuth client's roles lack {len(missing)} required permission"
            f"{'s' if len(missing) != 1 else ''}: {', '.join(missing)}. "
            f"{FIX_ROLES}.",
        )
    return Finding(
        True, f"The OAuth client's roles grant all {len(required)} required permissions."
    )


def _role_ids(oauth_client: dict[str, Any]) -> list[str]:
    """The roles of an ``OAuthClient``: ``roleDivisions`` (current) and ``roleIds`` (deprecated)."""
    ids: list[str] = []
    for grant in oauth_client.get("roleDivisions") or []:
        if isinstance(grant, dict) and grant.get("roleId"):
            ids.append(str(grant["roleId"]))
    for role_id in oauth_client.get("roleIds") or []:
        ids.append(str(role_id))
    return list(dict.fromkeys(ids))


def role_grants(role: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(domain, entity, action) triples a ``DomainOrganizationRole`` grants; ``*`` = any."""
    grants: set[tuple[str, str, str]] = set()
    for permission in role.get("permissions") or []:
        text = str(permission).strip()
        parts = ["*", "*", "*"] if text == "*" else text.split(":")
        if len(parts) == 3:
            grants.add((parts[0], parts[1], parts[2]))
    for policy in role.get("permissionPolicies") or []:
        if not isinstance(policy, dict):
            continue
        domain = str(policy.get("domain") or "")
        entity = str(policy.get("entityName") or "")
        if not domain or not entity:
            continue
        for action in policy.get("actionSet") or []:
            grants.add((domain, entity, str(action)))
    return grants


def is_granted(permission: str, grants: set[tuple[str, str, str]]) -> bool:
    """Whether ``domain:entity:action`` is among ``grants`` (``*`` in a grant matches any)."""
    wanted = permission.split(":")
    return any(
        all(g == "*" or g == w for g, w in zip(grant, wanted, strict=True))
        for grant in grants
        if len(wanted) == 3
    )


def _duration(seconds: int) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds >= 60:
        return f"{seconds // 60} min"
    return f"{seconds} s"
