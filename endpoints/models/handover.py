"""Handovers: a bot conversation handed to a human agent, its events and its outbox."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from endpoints.models.endpoint import Endpoint


class HandoverStatus(models.TextChoices):
    STARTING = "starting", _("starting")  # the provider's conversation is being created
    QUEUED = "queued", _("queued")  # waiting for an agent
    ACTIVE = "active", _("active")  # an agent is connected
    ENDED = "ended", _("ended")


OPEN_STATUSES = (HandoverStatus.STARTING, HandoverStatus.QUEUED, HandoverStatus.ACTIVE)


class EndReason(models.TextChoices):
    AGENT_LEFT = "agent_left", _("agent left")
    USER_ENDED = "user_ended", _("user ended")
    STAFF_ENDED = "staff_ended", _("staff ended")
    EXPIRED = "expired", _("expired")
    ERROR = "error", _("error")


class EventKind(models.TextChoices):
    AGENT_JOINED = "agent_joined", _("agent joined")
    AGENT_MESSAGE = "agent_message", _("agent message")
    #: A message from the provider's automation (a bot or in-queue flow), not from an agent.
    SYSTEM_MESSAGE = "system_message", _("system message")
    AGENT_TYPING = "agent_typing", _("agent typing")
    #: While waiting: the estimated wait and the conversations waiting on the queue.
    QUEUE_UPDATE = "queue_update", _("queue update")
    AGENT_LEFT = "agent_left", _("agent left")
    EXPIRY_WARNING = "expiry_warning", _("expiry warning")
    MESSAGE_FAILED = "message_failed", _("message failed")
    ENDED = "ended", _("ended")


class DeliveryStatus(models.TextChoices):
    NONE = "none", _("no callback")
    PENDING = "pending", _("pending")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("failed")


class Handover(models.Model):
    """A conversation handed over to a human agent through the endpoint's provider.

    At most one open handover per (endpoint, session): a second request for the same
    session returns the open one. ``expires_at`` and ``warn_at`` are indexed and kept
    null once no longer due, so the expiry beat reads only the rows it has to act on.
    """

    public_id = models.UUIDField(_("ID"), default=uuid.uuid4, unique=True, editable=False)
    endpoint = models.ForeignKey(
        Endpoint, verbose_name=_("endpoint"), on_delete=models.PROTECT, related_name="handovers"
    )
    provider = models.CharField(_("provider"), max_length=50)
    user_id = models.CharField(_("user ID"), max_length=255)
    session_id = models.CharField(_("session ID"), max_length=255)
    profile = models.JSONField(_("profile"), default=dict, blank=True)
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    #: Routing hints of the start request: ``language``, ``skills`` (a list), ``priority``.
    routing = models.JSONField(_("routing"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=HandoverStatus.choices, default=HandoverStatus.STARTING
    )
    agent_name = models.CharField(_("agent"), max_length=255, blank=True)
    #: The endpoint's Session Duration when the handover started: idle longer, it expires.
    session_duration_minutes = models.PositiveIntegerField(_("session duration (minutes)"))
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    last_activity_at = models.DateTimeField(_("last activity"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    warn_at = models.DateTimeField(_("expiry warning due"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    end_reason = models.CharField(
        _("end reason"), max_length=20, choices=EndReason.choices, blank=True
    )
    end_detail = models.TextField(_("end detail"), blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("ended by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    #: When the first agent joined and first answered (kept by ``handover_event_record``), so
    #: the overview's time to agent and to first reply are plain columns, not subqueries.
    first_agent_at = models.DateTimeField(_("first agent joined"), null=True, blank=True)
    first_reply_at = models.DateTimeField(_("first agent reply"), null=True, blank=True)
    #: The sequence number of the last event; events are numbered 1, 2, … per handover.
    last_event_seq = models.PositiveIntegerField(default=0, editable=False)
    #: While in the future, the worker whose random token is ``sender_lease_owner`` alone
    #: talks to the provider for this handover (start, outbox in order, disconnect).
    sender_lease_owner = models.CharField(max_length=32, blank=True, editable=False)
    sender_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    #: While in the future, a sender task for this handover is queued and has not started:
    #: a new outbox row needs no task of its own (one publish per burst). Set with the
    #: publish under the row lock, cleared by the task as it starts; a task lost with its
    #: broker is found by the sweeper once the row is older than the sweep grace.
    sender_queued_until = models.DateTimeField(null=True, blank=True, editable=False)
    #: The same for delivering this handover's events to the callback URL.
    callback_lease_owner = models.CharField(max_length=32, blank=True, editable=False)
    callback_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    #: The relay replica (``RelayReplica.token``) that holds this handover's provider
    #: connection (an event stream, a notification topic) while ``relay_lease_until`` is in
    #: the future (``endpoints.handovers.relay_ownership``).
    relay_owner = models.CharField(max_length=32, blank=True, editable=False)
    relay_lease_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("handover session")
        verbose_name_plural = _("handover sessions")
        permissions = [("drive_handover", _("Can start and drive handovers over the API"))]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "session_id"],
                condition=~Q(status="ended"),
                name="one_open_handover_per_session",
            )
        ]
        indexes = [
            models.Index(
                fields=["expires_at"],
                condition=Q(expires_at__isnull=False),
                name="handover_expires_at_due",
            ),
            models.Index(
                fields=["warn_at"], condition=Q(warn_at__isnull=False), name="handover_warn_at_due"
            ),
            models.Index(fields=["status", "-started_at"], name="handover_status_started"),
            # Relay ownership reads open handovers only: by owner, and free or expired ones.
            models.Index(
                fields=["relay_owner", "relay_lease_until"],
                condition=~Q(status="ended"),
                name="handover_relay_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} · {self.session_id}"

    @property
    def is_open(self) -> bool:
        return self.status != HandoverStatus.ENDED

    def idle_minutes(self, now: datetime | None = None) -> int:
        """Whole minutes since the last user or agent message."""
        return int(((now or timezone.now()) - self.last_activity_at) / timedelta(minutes=1))


class HandoverEvent(models.Model):
    """Something the channel must hear about, numbered per handover (the events cursor).

    ``external_id`` is the provider's id of what caused it (a Genesys message id): the
    same agent message seen twice (stream and backfill, two relay replicas) is stored once.
    """

    handover = models.ForeignKey(Handover, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField(_("sequence"))
    kind = models.CharField(_("kind"), max_length=20, choices=EventKind.choices)
    data = models.JSONField(_("data"), default=dict, blank=True)
    external_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now)
    delivery = models.CharField(
        _("callback delivery"),
        max_length=20,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.NONE,
    )
    delivery_attempts = models.PositiveIntegerField(default=0)
    next_delivery_at = models.DateTimeField(null=True, blank=True)
    delivery_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["handover", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["handover", "seq"], name="one_event_per_seq"),
            models.UniqueConstraint(
                fields=["handover", "external_id"],
                condition=~Q(external_id=""),
                name="one_event_per_external_id",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_delivery_at"],
                condition=Q(delivery="pending"),
                name="event_delivery_due",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind}"

    def as_json(self) -> dict:
        """The event as the API and the callback send it."""
        return {
            "seq": self.seq,
            "handover": str(self.handover.public_id),
            "kind": self.kind,
            "data": self.data,
            "at": self.created_at.isoformat(),
        }


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    #: An attempt started and its outcome is not known yet (or the worker died during it).
    SENDING = "sending", _("sending")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")


class OutboundMessage(models.Model):
    """The relay's outbox: a handover's provider work, in order: its start, the transcript
    and the user's messages on their way to the agent, and its disconnect.

    Stored in the transaction of the API call that asked for it, then done by a worker in
    order per handover; ``client_message_id`` makes a retried API call a no-op.
    """

    class Kind(models.TextChoices):
        #: Create the provider's conversation: the first row, acted on while ``starting``.
        START = "start", _("start")
        TRANSCRIPT = "transcript", _("bot transcript")
        MESSAGE = "message", _("user message")
        #: Leave the provider's conversation: queued when the handover ends, swept like
        #: every other row until done, so a broker outage never loses it.
        DISCONNECT = "disconnect", _("disconnect")
        #: Tell the provider whether the channel got one of its messages (``data``:
        #: ``message_id``, ``status`` ``delivered`` | ``failed``, ``reason``). Only for
        #: transports that want receipts; sent after the handover ends too.
        RECEIPT = "receipt", _("receipt")

    handover = models.ForeignKey(Handover, on_delete=models.CASCADE, related_name="outbox")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.MESSAGE)
    client_message_id = models.CharField(_("client message ID"), max_length=255, blank=True)
    text = models.TextField(_("text"))
    #: What a row other than a message carries (a receipt's message id and status).
    data = models.JSONField(_("data"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    attempt_started_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    remote_id = models.CharField(_("provider message ID"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["handover", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["handover", "client_message_id"],
                condition=~Q(client_message_id=""),
                name="one_message_per_client_id",
            )
        ]
        indexes = [
            models.Index(
                fields=["handover", "id"],
                condition=Q(status__in=["pending", "sending"]),
                name="outbox_unsent",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    def _siblings_sent(self) -> models.QuerySet[OutboundMessage]:
        return OutboundMessage.objects.filter(handover_id=self.handover_id).exclude(
            Q(remote_id="") | Q(pk=self.pk)
        )

    def other_remote_ids(self) -> frozenset[str]:
        """The provider's ids recorded for the handover's other rows: reconciling an unknown
        outcome must never take one of them for this row (the same text sent twice)."""
        return frozenset(self._siblings_sent().values_list("remote_id", flat=True))

    def previous_remote_id(self) -> str | None:
        """The provider's id of the last row sent before this one: anything older than it
        in the provider's history cannot be this row."""
        earlier = self._siblings_sent().filter(pk__lt=self.pk).order_by("-pk")
        return earlier.values_list("remote_id", flat=True).first()
