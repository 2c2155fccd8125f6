"""Endpoints: the channels through which a bot talks to users, and their handover provider."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from endpoints.fields import EncryptedTextField
from endpoints.outbound_urls import validate_callback_url
from endpoints.providers import NO_PROVIDER, HandoverProvider, UnknownProvider, get_provider
from endpoints.validators import printable, reject_control_characters

QUEUE_UPDATE_MIN_SECONDS = 10
QUEUE_UPDATE_MAX_SECONDS = 3600


def validate_queue_update_seconds(value: int) -> None:
    if value and not QUEUE_UPDATE_MIN_SECONDS <= value <= QUEUE_UPDATE_MAX_SECONDS:
        raise ValidationError(
            _("Give 0 (off) or a number of seconds from %(low)s to %(high)s."),
            code="queue_update_seconds",
            params={"low": QUEUE_UPDATE_MIN_SECONDS, "high": QUEUE_UPDATE_MAX_SECONDS},
        )


class ChannelType(models.TextChoices):
    WEBCHAT = "webchat", _("Webchat")
    REST = "rest", _("REST")
    SOCKET = "socket", _("Socket")
    WEBHOOK = "webhook", _("Webhook")


class Endpoint(models.Model):
    """A channel through which a bot talks to users, and who takes over when a human is needed.

    ``handover_provider`` stores a provider id from the registry
    (``endpoints.providers``); its choices are built at run time, so adding a provider
    needs no migration.
    """

    name = models.CharField(_("name"), max_length=100, validators=[reject_control_characters])
    public_id = models.UUIDField(
        _("public ID"),
        default=uuid.uuid4,
        unique=True,
        editable=False,
        help_text=_("The endpoint's stable identifier in URLs and the API."),
    )
    channel_type = models.CharField(
        _("channel type"), max_length=20, choices=ChannelType.choices, default=ChannelType.WEBCHAT
    )
    handover_provider = models.CharField(
        _("Handover Provider"),
        max_length=50,
        default=NO_PROVIDER,
        help_text=_("Who takes over a conversation when the user needs a human agent."),
    )
    callback_url = models.URLField(
        _("callback URL"),
        max_length=500,
        blank=True,
        validators=[validate_callback_url],
        help_text=_(
            "Optional. Where agent messages and handover events are pushed to the channel: "
            "a public https URL, or a host listed in CALLBACK_ALLOWED_HOSTS."
        ),
    )
    callback_signing_secret = EncryptedTextField(
        _("callback signing secret"),
        blank=True,
        help_text=_(
            "Required with a callback URL. Every callback is signed with it (HMAC-SHA256, "
            "the X-Handover-Signature header): share it with the channel. Stored "
            "encrypted; never shown again."
        ),
    )
    queue_update_seconds = models.PositiveIntegerField(
        _("queue updates every (seconds)"),
        default=0,
        validators=[validate_queue_update_seconds],
        help_text=_(
            "While a handover waits for an agent, tell the user the estimated wait and how "
            "many conversations are waiting: every this many seconds (10 to 3600), and "
            "whenever they change. 0: off."
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("endpoint")
        verbose_name_plural = _("endpoints")
        indexes = [models.Index(fields=["handover_provider"])]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        try:
            get_provider(self.handover_provider)
        except UnknownProvider:
            raise ValidationError(
                {
                    "handover_provider": _(
                        "“%(value)s” is not a handover provider. Choose a listed provider."
                    )
                    % {"value": printable(self.handover_provider)}
                }
            ) from None

    def get_provider(self) -> HandoverProvider:
        """The handover provider this endpoint uses."""
        return get_provider(self.handover_provider)

    def get_provider_settings(self) -> models.Model | None:
        """The stored settings of the selected provider, if it has any."""
        return self.get_provider().get_settings(self)

    def handover_refusal(self) -> str | None:
        """Why a handover cannot start on this endpoint now, or ``None`` when it can."""
        return self.get_provider().handover_refusal(self)
