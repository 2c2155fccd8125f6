"""Gauges read from the database at scrape time: right whichever process did the work.

A constant number of aggregate queries per scrape, however many handovers there are. The
handover counts cover the rows kept (``HANDOVER_RETENTION_DAYS``): they are gauges, not
counters, so use ``delta()`` over them rather than ``rate()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Max, Min, Q
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

PREFIX = "handover_portal"


class DatabaseCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        from endpoints.models import Handover, HandoverEvent, OutboundMessage, RelayReplica
        from endpoints.models.handover import DeliveryStatus, HandoverStatus, OutboxStatus

        now = timezone.now()
        handovers = GaugeMetricFamily(
            f"{PREFIX}_handovers",
            "Handovers kept, by provider and status (open ones: starting, queued, active).",
            labels=["provider", "status"],
        )
        ended = GaugeMetricFamily(
            f"{PREFIX}_handovers_ended",
            "Ended handovers kept (HANDOVER_RETENTION_DAYS), by provider and end reason.",
            labels=["provider", "reason"],
        )
        rows = (
            Handover.objects.order_by()
            .values("provider", "status", "end_reason")
            .annotate(n=Count("pk"))
        )
        by_status: dict[tuple[str, str], int] = {}
        for row in rows:
            key = (row["provider"], row["status"])
            by_status[key] = by_status.get(key, 0) + row["n"]
            if row["status"] == HandoverStatus.ENDED:
                ended.add_metric([row["provider"], row["end_reason"] or "unknown"], row["n"])
        for (provider, status), count in sorted(by_status.items()):
            handovers.add_metric([provider, status], count)
        yield handovers
        yield ended

        unsent = [OutboxStatus.PENDING, OutboxStatus.SENDING]
        outbox = OutboundMessage.objects.order_by().aggregate(
            pending=Count("pk", filter=Q(status=OutboxStatus.PENDING)),
            sending=Count("pk", filter=Q(status=OutboxStatus.SENDING)),
            failed=Count("pk", filter=Q(status=OutboxStatus.FAILED)),
            oldest=Min("created_at", filter=Q(status__in=unsent)),
        )
        depth = GaugeMetricFamily(
            f"{PREFIX}_outbox_messages",
            "Outbox rows not sent yet (pending, sending) and given up on (failed).",
            labels=["status"],
        )
        for status in ("pending", "sending", "failed"):
            depth.add_metric([status], outbox[status])
        yield depth
        oldest = outbox["oldest"]
        yield GaugeMetricFamily(
            f"{PREFIX}_outbox_oldest_unsent_age_seconds",
            "Age of the oldest outbox row not sent yet (0 when none).",
            value=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        )

        events = HandoverEvent.objects.order_by().aggregate(
            **{
                status: Count("pk", filter=Q(delivery=status))
                for status in (
                    DeliveryStatus.PENDING,
                    DeliveryStatus.DELIVERED,
                    DeliveryStatus.FAILED,
                )
            }
        )
        callbacks = GaugeMetricFamily(
            f"{PREFIX}_callback_events",
            "Events of kept handovers by callback delivery: pending, delivered, failed.",
            labels=["delivery"],
        )
        for status, count in events.items():
            callbacks.add_metric([str(status)], count)
        yield callbacks

        alive_after = now - timedelta(seconds=settings.RELAY_OWNERSHIP_LEASE_SECONDS)
        replicas = RelayReplica.objects.aggregate(
            alive=Count("pk", filter=Q(heartbeat_at__gte=alive_after)),
            newest=Max("heartbeat_at"),
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_relay_replicas_alive",
            "Relay replicas whose heartbeat is younger than RELAY_OWNERSHIP_LEASE_SECONDS.",
            value=replicas["alive"],
        )
        newest = replicas["newest"]
        yield GaugeMetricFamily(
            f"{PREFIX}_relay_heartbeat_age_seconds",
            "Age of the newest relay heartbeat (NaN when no relay has run).",
            value=(now - newest).total_seconds() if newest else float("nan"),
        )
        held = (
            Handover.objects.exclude(status=HandoverStatus.ENDED)
            .filter(relay_lease_until__gt=now)
            .exclude(relay_owner="")
            .count()
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_relay_handovers_held",
            "Open handovers whose provider connection (event stream, notification topic) a "
            "relay replica holds now.",
            value=held,
        )
