"""The Genesys Cloud platform API client for one organisation (a region and a connection)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from genesys.models import GenesysQueueSettings, OAuth2Connection
from genesys.platform import errors, http, tokens
from genesys.platform.regions import Region, api_base_url

QUEUE_VIEW = "routing:queue:view"
QUEUE_OBSERVATION_VIEW = "analytics:queueObservation:view"
OAUTH_CLIENT_VIEW = "oauth:client:view"
ROLE_VIEW = "authorization:role:view"


class GenesysClient:
    """Platform API calls authenticated with an OAuth2 client-credentials token: routing,
    analytics, OAuth clients and roles, notification channels. Every path of these APIs is
    here; Open Messaging's are in ``genesys.open_messaging.client``.

    A 401 from an API call drops the cached token, fetches a new one and retries once.
    """

    def __init__(self, *, region: Region, connection: OAuth2Connection) -> None:
        self.region = region
        self.connection = connection

    @classmethod
    def for_settings(cls, genesys_settings: GenesysQueueSettings) -> GenesysClient:
        connection = genesys_settings.node_authentication
        if connection is None:
            raise errors.GenesysNotConfigured(
                "Node Authentication is not set",
                advice="Choose an OAuth2 connection in the endpoint's Handover Settings.",
            )
        return cls(region=genesys_settings.region, connection=connection)

    def request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        permission: str = "",
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotent: bool = True,
    ) -> Any:
        """Call ``path`` under the region's API base; the parsed JSON answer (or ``None``)."""
        url = f"{api_base_url(self.region)}{path}"
        for attempt in (1, 2):
            token = tokens.access_token(self.connection, self.region)
            try:
                response = http.send(
                    method,
                    url,
                    what=what,
                    permission=permission,
                    idempotent=idempotent,
                    headers={"Authorization": f"Bearer {token}"},
                    json=json,
                    params=params,
                )
            except errors.GenesysAuthenticationError:
                tokens.forget_token(self.connection, self.region, token)
                if attempt == 2:
                    raise
                continue
            return response.json() if response.content else None
        raise AssertionError("unreachable")  # pragma: no cover

    def get_queue(self, queue_id: str) -> dict[str, Any]:
        """``GET /api/v2/routing/queues/{queueId}``."""
        return self.request(
            "GET",
            f"/api/v2/routing/queues/{quote(str(queue_id))}",
            what="the queue lookup",
            permission=QUEUE_VIEW,
        )

    def queue_observations(
        self, queue_id: str, *, media_type: str, metrics: list[str]
    ) -> dict[str, Any]:
        """``POST /api/v2/analytics/queues/observations/query`` for one queue and media type."""
        query = {
            "filter": {
                "type": "and",
                "predicates": [
                    {
                        "type": "dimension",
                        "dimension": "queueId",
                        "operator": "matches",
                        "value": str(queue_id),
                    },
                    {
                        "type": "dimension",
                        "dimension": "mediaType",
                        "operator": "matches",
                        "value": media_type,
                    },
                ],
            },
            "metrics": metrics,
        }
        return self.request(
            "POST",
            "/api/v2/analytics/queues/observations/query",
            what="the queue observation query",
            permission=QUEUE_OBSERVATION_VIEW,
            json=query,
        )

    def estimated_wait_seconds(self, queue_id: str, *, media_type: str) -> int | None:
        """The queue's estimated wait for ``media_type``, or ``None`` when Genesys has none."""
        body = self.request(
            "GET",
            f"/api/v2/routing/queues/{quote(str(queue_id))}/mediatypes/{quote(media_type)}"
            "/estimatedwaittime",
            what="the estimated wait time request",
            permission=QUEUE_VIEW,
        )
        for result in (body or {}).get("results") or []:
            seconds = result.get("estimatedWaitTimeSeconds")
            if isinstance(seconds, int | float):
                return int(seconds)
        return None

    def get_oauth_client(self, client_id: str) -> dict[str, Any]:
        """``GET /api/v2/oauth/clients/{clientId}`` (``OAuthClient``)."""
        return (
            self.request(
                "GET",
                f"/api/v2/oauth/clients/{quote(client_id, safe='')}",
                what="the OAuth client lookup",
                permission=OAUTH_CLIENT_VIEW,
            )
            or {}
        )

    def get_role(self, role_id: str) -> dict[str, Any]:
        """``GET /api/v2/authorization/roles/{roleId}`` (``DomainOrganizationRole``)."""
        return (
            self.request(
                "GET",
                f"/api/v2/authorization/roles/{quote(role_id, safe='')}",
                what="the role lookup",
                permission=ROLE_VIEW,
            )
            or {}
        )

    def create_notification_channel(self) -> dict[str, Any]:
        """``POST /api/v2/notifications/channels`` (``Channel``: ``id``, ``connectUri``)."""
        return (
            self.request(
                "POST", "/api/v2/notifications/channels", what="the notification channel creation"
            )
            or {}
        )

    def set_notification_topics(self, channel_id: str, topics: list[str]) -> None:
        """``PUT /api/v2/notifications/channels/{channelId}/subscriptions``: exactly these."""
        self.request(
            "PUT",
            f"/api/v2/notifications/channels/{quote(channel_id, safe='')}/subscriptions",
            what="the notification subscriptions",
            json=[{"id": topic} for topic in topics],
        )
