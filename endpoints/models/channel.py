"""Channels (the bot platforms that call the API) and their API keys.

A channel sees and drives only the endpoints it is given (``Channel.endpoints``): its API
key is confined to them in every API view (``endpoints.api.confinement``). Keys are hashed
at rest by ``djangorestframework-api-key`` (SHA-512 of a high-entropy random key): only the
prefix, which names the key, is stored as it is.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.cache import cache
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey

from endpoints.models.endpoint import Endpoint
from endpoints.validators import reject_control_characters

#: ``last_used_at`` is written at most this often per key, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class Channel(models.Model):
    """A bot platform (or one tenant of it) calling the API with its own keys.

    It may read the configuration of its endpoints and drive handovers on them; every
    other endpoint does not exist for it (404).
    """

    name = models.CharField(
        _("name"), max_length=100, unique=True, validators=[reject_control_characters]
    )
    description = models.TextField(_("description"), blank=True)
    endpoints = models.ManyToManyField(
        Endpoint,
        verbose_name=_("endpoints"),
        related_name="channels",
        blank=True,
        help_text=_("The only endpoints this channel's API keys can see and drive."),
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("channel")
        verbose_name_plural = _("channels")

    def __str__(self) -> str:
        return self.name


class ChannelAPIKey(AbstractAPIKey):
    """A channel's credential: ``Authorization: Api-Key <prefix>.<secret>``.

    Shown once when issued, stored hashed; it stops working when revoked (for good) or
    past its expiry date.
    """

    channel = models.ForeignKey(
        Channel, verbose_name=_("channel"), on_delete=models.CASCADE, related_name="api_keys"
    )
    last_used_at = models.DateTimeField(
        _("last used"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("When a request last authenticated with this key (to the minute)."),
    )

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("channel API key")
        verbose_name_plural = _("channel API keys")

    def record_use(self) -> bool:
        """Note that the key was just used, unless that was noted less than a minute ago.

        One conditional ``UPDATE``: concurrent requests past the minute write it once.
        """
        now = timezone.now()
        if self.last_used_at is not None and now - self.last_used_at < LAST_USED_RESOLUTION:
            return False
        # The cache lets one request a minute try, so that the key's other requests never
        # queue behind its row lock (held until the transaction ends, when there is one).
        gate = f"channel-api-key-used:{self.prefix}"
        if not cache.add(gate, True, timeout=LAST_USED_RESOLUTION.total_seconds()):
            return False
        stale = models.Q(last_used_at__isnull=True) | models.Q(
            last_used_at__lt=now - LAST_USED_RESOLUTION
        )
        # By prefix (unique), not pk: a key recalled from the credential cache has no pk
        # (it holds the key's hash; endpoints.api.credentials keeps no hash).
        updated = ChannelAPIKey.objects.filter(stale, prefix=self.prefix).update(last_used_at=now)
        if updated:
            self.last_used_at = now
        return bool(updated)
