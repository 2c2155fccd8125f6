"""The relay replicas in the admin: which relay processes run, and how many handovers each
holds (read only: the replicas write these rows themselves)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import admin
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from endpoints.admin_mixins import ReadOnlyAdminMixin
from endpoints.models import Handover, HandoverStatus, RelayReplica


@admin.register(RelayReplica)
class RelayReplicaAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "providers",
        "hostname",
        "pid",
        "started_at",
        "heartbeat_at",
        "live",
        "held",
    ]
    fields = ["token", "providers", "hostname", "pid", "started_at", "heartbeat_at"]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[RelayReplica]:
        held = (
            Handover.objects.exclude(status=HandoverStatus.ENDED)
            .filter(relay_owner=OuterRef("token"))
            .order_by()
            .values("relay_owner")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return super().get_queryset(request).annotate(held_count=Coalesce(Subquery(held), 0))

    @admin.display(boolean=True, description=_("live"))
    def live(self, replica: RelayReplica) -> bool:
        lease = timedelta(seconds=settings.RELAY_OWNERSHIP_LEASE_SECONDS)
        return replica.heartbeat_at > timezone.now() - lease

    @admin.display(description=_("handovers held"), ordering="held_count")
    def held(self, replica: RelayReplica) -> int:
        return replica.held_count
