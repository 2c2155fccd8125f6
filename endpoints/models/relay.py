"""The replicas of a relay process: who is alive, to divide the open handovers between them."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class RelayReplica(models.Model):
    """One running relay process (``manage.py relay``), known by a random token.

    It heartbeats every poll; a replica whose heartbeat is older than the ownership lease
    counts as dead, and its handovers are taken over (``endpoints.handovers.relay_ownership``).
    Replicas of the same ``providers`` divide those providers' handovers between them (a
    relay of other providers takes no share of them). Host name and process id are only
    there for the admin and the logs.
    """

    token = models.CharField(_("token"), max_length=32, unique=True, editable=False)
    #: The provider ids whose handovers it holds, sorted and comma-separated.
    providers = models.CharField(_("providers"), max_length=255, editable=False)
    hostname = models.CharField(_("host name"), max_length=255, blank=True)
    pid = models.PositiveIntegerField(_("process ID"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    heartbeat_at = models.DateTimeField(_("last heartbeat"), default=timezone.now)

    class Meta:
        ordering = ["started_at"]
        verbose_name = _("relay replica")
        verbose_name_plural = _("relay replicas")

    def __str__(self) -> str:
        return f"{self.hostname or '?'}:{self.pid or '?'} ({self.token[:8]})"
