"""Agent Availability: can the endpoint's Genesys queue take a conversation now?"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.utils import timezone

from endpoints.models import Endpoint
from endpoints.providers import AgentAvailability
from genesys.models import GenesysQueueSettings
from genesys.platform import errors
from genesys.platform.caching import get_or_compute
from genesys.platform.client import GenesysClient

logger = logging.getLogger(__name__)

#: Routing statuses of on-queue agents who cannot take work now.
UNABLE_TO_WORK = frozenset({"NOT_RESPONDING"})
METRICS = ["oOnQueueUsers", "oWaiting"]


def settings_of(endpoint: Endpoint) -> GenesysQueueSettings:
    """The endpoint's active Genesys settings; ``GenesysError`` saying why when there are none."""
    provider_settings = endpoint.get_provider_settings()
    if not isinstance(provider_settings, GenesysQueueSettings):
        raise errors.GenesysNotConfigured(
            f"Endpoint “{endpoint.name}” does not hand over to Genesys Cloud",
            advice="Choose Genesys Cloud as its Handover Provider and fill in its settings.",
        )
    return provider_settings


def agent_availability(endpoint: Endpoint) -> AgentAvailability:
    """The queue's figures from Genesys, cached briefly per queue: a burst, and every
    endpoint and waiting user on the same queue, cost Genesys one call per cache window."""
    genesys_settings = settings_of(endpoint)
    key = (
        f"genesys:availability:{genesys_settings.host}:{genesys_settings.queue_id}:"
        f"{genesys_settings.media_type}"
    )

    def compute() -> tuple[AgentAvailability, float]:
        return (
            fetch_agent_availability(genesys_settings),
            settings.AGENT_AVAILABILITY_CACHE_SECONDS,
        )

    return get_or_compute(key, compute, lock_seconds=settings.GENESYS_HTTP_READ_TIMEOUT + 1)


def fetch_agent_availability(genesys_settings: GenesysQueueSettings) -> AgentAvailability:
    """Ask Genesys now (no cache)."""
    client = GenesysClient.for_settings(genesys_settings)
    queue_id = str(genesys_settings.queue_id)
    media_type = genesys_settings.media_type
    body = client.queue_observations(queue_id, media_type=media_type, metrics=METRICS)
    by_status, waiting = _read_observations(body, queue_id)
    on_queue = sum(by_status.values())
    unable = sum(count for status, count in by_status.items() if status in UNABLE_TO_WORK)
    try:
        estimated = client.estimated_wait_seconds(queue_id, media_type=media_type)
    except (errors.GenesysBadRequest, errors.GenesysNotFound) as error:
        # Genesys has no estimate without enough recent data; availability still stands.
        logger.info("No estimated wait time for queue %s: %s", queue_id, error.code)
        estimated = None
    return AgentAvailability(
        available=on_queue > 0 and unable < on_queue,
        agents_on_queue=on_queue,
        agents_idle=by_status.get("IDLE", 0),
        conversations_waiting=waiting,
        estimated_wait_seconds=estimated,
        checked_at=timezone.now(),
    )


def _read_observations(body: Any, queue_id: str) -> tuple[dict[str, int], int]:
    """On-queue agents by routing status, and conversations waiting, from the response."""
    by_status: dict[str, int] = {}
    waiting = 0
    for result in (body or {}).get("results") or []:
        if str((result.get("group") or {}).get("queueId", queue_id)) != queue_id:
            continue
        for datum in result.get("data") or []:
            count = int(((datum.get("stats") or {}).get("count")) or 0)
            if datum.get("metric") == "oOnQueueUsers":
                status = str(datum.get("qualifier") or "UNKNOWN").upper()
                by_status[status] = by_status.get(status, 0) + count
            elif datum.get("metric") == "oWaiting":
                waiting += count
    return by_status, waiting
