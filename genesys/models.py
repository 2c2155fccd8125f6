"""Genesys Cloud settings of an endpoint, and the OAuth2 connections they authenticate with."""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from endpoints.fields import EncryptedTextField
from endpoints.models import Endpoint
from endpoints.validators import reject_control_characters
from genesys.platform import regions

SESSION_DURATION_DEFAULT = 20
SESSION_DURATION_MAX = 1440


def validate_region_host(value: str) -> None:
    if regions.normalise_host(value) != value:
        raise ValidationError(
            _("Store the region's base domain, e.g. mypurecloud.de."), code="not_normalised"
        )


def validate_oauth_url(value: str) -> None:
    regions.region_for_oauth_url(value)


class OAuth2Connection(models.Model):
    """An OAuth2 client-credentials connection (type ``http_oauth2``) to Genesys Cloud.

    Reusable by many endpoints. The client secret is encrypted at rest and write-only.
    """

    connection_type = "http_oauth2"

    name = models.CharField(
        _("name"),
        max_length=100,
        unique=True,
        validators=[reject_control_characters],
        help_text=_("A name to recognise this connection by, e.g. “Genesys EU OAuth client”."),
    )
    oauth_url = models.URLField(
        _("OAuth URL"),
        max_length=200,
        validators=[validate_oauth_url],
        help_text=_(
            "The token URL of your Genesys Cloud region: https://login.<region host>/oauth/token, "
            "e.g. https://login.mypurecloud.de/oauth/token."
        ),
    )
    client_id = models.CharField(
        _("Client ID"),
        max_length=200,
        validators=[reject_control_characters],
        help_text=_(
            "In Genesys Cloud: Admin → Integrations → OAuth → your client (grant type "
            "Client Credentials) → Client Details → Client ID."
        ),
    )
    client_secret = EncryptedTextField(
        _("Client Secret"),
        help_text=_(
            "In Genesys Cloud: Admin → Integrations → OAuth → your client → Client Details. "
            "Stored encrypted; never shown again."
        ),
        error_messages={"blank": _("Enter the OAuth client's secret.")},
    )
    scope = models.CharField(
        _("Scope"),
        max_length=500,
        blank=True,
        validators=[reject_control_characters],
        help_text=_(
            "Optional. Genesys Cloud ignores scopes for client credentials (the client's roles "
            "decide); set one only if your setup needs it."
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("OAuth2 connection")
        verbose_name_plural = _("OAuth2 connections")

    def __str__(self) -> str:
        return self.name

    @property
    def region(self) -> regions.Region | None:
        """The Genesys Cloud region the OAuth URL logs in to, or ``None`` if it is not valid."""
        try:
            return regions.region_for_oauth_url(self.oauth_url)
        except ValidationError:
            return None


class GenesysQueueSettings(models.Model):
    """What every Genesys Cloud provider's settings share: region, queue, session, times.

    Abstract: each provider's settings are a table of their own.
    """

    host = models.CharField(
        _("Host"),
        max_length=64,
        validators=[validate_region_host],
        help_text=_(
            "The region of your Genesys Cloud organisation: the domain you log in with, e.g. "
            "mypurecloud.de when you log in at login.mypurecloud.de."
        ),
    )
    queue_name = models.CharField(
        _("Queue Name"),
        max_length=255,
        validators=[reject_control_characters],
        help_text=_(
            "The queue's name exactly as in Genesys Cloud (Admin → Contact Center → Queues), "
            "e.g. “Cognigy HQ Queue”."
        ),
    )
    queue_id = models.UUIDField(
        _("Queue ID"),
        help_text=_(
            "Admin → Contact Center → Queues → your queue: the ID in the page's address. "
            "You may paste the whole address."
        ),
    )
    session_duration_minutes = models.PositiveIntegerField(
        _("Session Duration (in minutes)"),
        default=SESSION_DURATION_DEFAULT,
        validators=[MinValueValidator(1), MaxValueValidator(SESSION_DURATION_MAX)],
        help_text=_("Idle time after which a handover session expires: 1 to 1440 minutes."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    #: The Genesys media type of conversations handed over through these settings.
    media_type = "chat"

    class Meta:
        abstract = True

    def clean(self) -> None:
        super().clean()
        if self.node_authentication_id is None or not self.host:
            return  # required or not, the field itself reports a missing connection
        connection = self.node_authentication
        try:
            host_region = regions.get_region(self.host)
        except KeyError:
            return  # the host's own validator reports it
        connection_region = connection.region
        if connection_region is not None and connection_region != host_region:
            raise ValidationError(
                {
                    "node_authentication": _(
                        "“%(connection)s” logs in to %(connection_region)s, but Host is "
                        "%(host_region)s. Choose a connection of the same region, or change Host."
                    )
                    % {
                        "connection": connection.name,
                        "connection_region": connection_region,
                        "host_region": host_region,
                    }
                }
            )

    @property
    def region(self) -> regions.Region:
        return regions.get_region(self.host)


class GenesysSettings(GenesysQueueSettings):
    """An endpoint's Genesys Cloud handover settings (web chat v2 guest API).

    Kept while another provider is selected, and inactive then.
    """

    endpoint = models.OneToOneField(
        Endpoint, on_delete=models.CASCADE, related_name="genesys_settings"
    )
    organization_id = models.UUIDField(
        _("Organisation ID"),
        help_text=_(
            "Admin → Account Settings → Organization Settings → Organization Details → "
            "Advanced → Organization ID."
        ),
    )
    deployment_id = models.UUIDField(
        _("Deployment ID"),
        help_text=_(
            "The Deployment Key of a Version 2 web chat widget: Admin → Contact Center → Widgets."
        ),
    )
    send_profile_information = models.BooleanField(
        _("Send Profile Information"),
        default=False,
        help_text=_(
            "Send the user's profile (name, email, custom fields) to the agent. Off: the agent "
            "sees an anonymous guest."
        ),
    )
    node_authentication = models.ForeignKey(
        OAuth2Connection,
        verbose_name=_("Node Authentication"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="genesys_settings",
        help_text=_(
            "The OAuth2 client-credentials connection for Genesys Cloud platform API calls "
            "(agent availability). Its OAuth URL must be in the same region as Host."
        ),
    )

    class Meta:
        verbose_name = _("Genesys Cloud settings")
        verbose_name_plural = _("Genesys Cloud settings")

    def __str__(self) -> str:
        return f"Genesys Cloud settings of {self.endpoint}"


class WebChatConversation(models.Model):
    """The guest side of a handover's Genesys web chat: its ids and credentials.

    The JWT and the event stream URI are credentials of the conversation: encrypted.
    """

    handover = models.OneToOneField(
        "endpoints.Handover", on_delete=models.CASCADE, related_name="genesys_webchat"
    )
    conversation_id = models.CharField(_("conversation ID"), max_length=64)
    member_id = models.CharField(_("member ID"), max_length=64)
    jwt = EncryptedTextField()
    event_stream_uri = EncryptedTextField()
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("Genesys web chat conversation")

    def __str__(self) -> str:
        return self.conversation_id


OPEN_MESSAGING_SECRET_MIN_LENGTH = 16  # Genesys: "more than 15 characters"


def new_webhook_token() -> str:
    """An unguessable token for an Open Messaging webhook URL (256 bits)."""
    return secrets.token_urlsafe(32)


#: The web chat settings an administrator edits (the form and the API).
GENESYS_SETTINGS_FIELDS = [
    "host",
    "organization_id",
    "deployment_id",
    "queue_name",
    "queue_id",
    "session_duration_minutes",
    "send_profile_information",
    "node_authentication",
]

#: The Open Messaging settings an administrator edits (the form, the admin and the API).
OPEN_MESSAGING_FIELDS = [
    "host",
    "integration_id",
    "deployment_name",
    "queue_name",
    "queue_id",
    "session_duration_minutes",
    "send_profile_information",
    "node_authentication",
]


class OpenMessagingSettings(GenesysQueueSettings):
    """An endpoint's Genesys Cloud Open Messaging handover settings.

    Genesys calls us back at ``/genesys/open-messaging/<webhook_token>/webhook/`` with
    messages signed by ``webhook_secret``. Kept while another provider is selected.
    """

    endpoint = models.OneToOneField(
        Endpoint, on_delete=models.CASCADE, related_name="genesys_om_settings"
    )
    integration_id = models.UUIDField(
        _("Integration ID"),
        help_text=_(
            "Admin → Message → Platforms → your Open Messaging integration: the ID in the "
            "page's address (or the integration's details)."
        ),
    )
    deployment_name = models.CharField(
        _("Deployment Name"),
        max_length=255,
        validators=[reject_control_characters],
        help_text=_(
            "The Open Messaging integration's name as in Genesys Cloud (Admin → Message → "
            "Platforms), for display."
        ),
    )
    send_profile_information = models.BooleanField(
        _("Send Profile Information"),
        default=False,
        help_text=_(
            "Send the user's first and last name to the agent. Off: the agent sees an anonymous "
            "contact and nothing from the profile leaves this server."
        ),
    )
    node_authentication = models.ForeignKey(
        OAuth2Connection,
        verbose_name=_("Node Authentication"),
        on_delete=models.PROTECT,
        related_name="genesys_om_settings",
        help_text=_(
            "The OAuth2 client-credentials connection every Open Messaging call is made with. "
            "Its OAuth URL must be in the same region as Host."
        ),
    )
    webhook_secret = EncryptedTextField(
        _("Webhook Signature Secret"),
        help_text=_(
            "The integration's signature secret token (more than 15 characters): Genesys "
            "signs every webhook call with it. Stored encrypted; never shown again."
        ),
        error_messages={
            "blank": _("Enter the Open Messaging integration's signature secret token.")
        },
    )
    end_webhook_secret = EncryptedTextField(
        _("End Webhook Secret"),
        blank=True,
        help_text=_(
            "Optional: what a Genesys data action sends as “Authorization: Bearer <secret>” "
            "to the end-of-handover webhook (data actions cannot compute the signature). More "
            "than 15 characters, not the Webhook Signature Secret. Stored encrypted."
        ),
    )
    webhook_token = models.CharField(
        _("webhook token"),
        max_length=64,
        unique=True,
        default=new_webhook_token,
        editable=False,
        help_text=_("The unguessable part of this endpoint's webhook URLs."),
    )

    media_type = "message"

    class Meta:
        verbose_name = _("Genesys Cloud Open Messaging settings")
        verbose_name_plural = _("Genesys Cloud Open Messaging settings")

    def __str__(self) -> str:
        return f"Genesys Cloud Open Messaging settings of {self.endpoint}"

    def webhook_path(self) -> str:
        return reverse("genesys:om-webhook", kwargs={"token": self.webhook_token})

    def end_webhook_path(self) -> str:
        return reverse("genesys:om-end", kwargs={"token": self.webhook_token})


class OpenMessagingConversation(models.Model):
    """A handover's side of a Genesys Open Messaging conversation.

    ``from_id`` is the opaque, stable id the user has in Genesys (never the user's own id);
    Genesys's conversation and customer participant ids are known after the first message.
    """

    handover = models.OneToOneField(
        "endpoints.Handover", on_delete=models.CASCADE, related_name="genesys_om"
    )
    from_id = models.CharField(_("Open Messaging user ID"), max_length=128, db_index=True)
    conversation_id = models.CharField(_("conversation ID"), max_length=64, blank=True)
    participant_id = models.CharField(_("customer participant ID"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("Genesys Open Messaging conversation")

    def __str__(self) -> str:
        return self.conversation_id or self.from_id


#: The longest ``OpenMessagingInbox.last_error`` kept (the exception's type and message).
LAST_ERROR_MAX_LENGTH = 500


class OpenMessagingInbox(models.Model):
    """A verified Open Messaging webhook call waiting for the worker, in arrival order.

    The webhook view only stores the call and answers; the worker records its events in
    the order the calls arrived (one at a time per endpoint), so two workers never swap an
    agent's messages. A call whose recording fails stays, with ``attempts`` and
    ``last_error``; after ``GENESYS_INBOX_MAX_ATTEMPTS`` it is a dead letter (``dead_at``):
    kept for the admin to read and replay, skipped by the worker.
    """

    settings = models.ForeignKey(
        OpenMessagingSettings, on_delete=models.CASCADE, related_name="inbox"
    )
    payload = models.JSONField()
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    attempts = models.PositiveIntegerField(_("failed attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=LAST_ERROR_MAX_LENGTH, blank=True)
    dead_at = models.DateTimeField(_("dead-lettered"), null=True, blank=True)
    #: After a failure, not tried again before this (the relay's backoff).
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("Open Messaging webhook call")

    def __str__(self) -> str:
        return f"Open Messaging webhook call #{self.pk}"
