"""Handover providers: the registry through which ``endpoints`` reaches every provider.

A provider is a class with declarative attributes, listed by dotted path in the
``HANDOVER_PROVIDERS`` setting. Adding one means adding a module (and its settings model),
not editing branches across the code. ``endpoints`` never imports a provider's app.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from django.contrib.admin import InlineModelAdmin
    from django.db import models
    from rest_framework.serializers import Serializer

    from endpoints.handovers.transports import HandoverTransport
    from endpoints.models import Endpoint

NO_PROVIDER = "none"
DEFAULT_SESSION_DURATION_MINUTES = 20


class ProviderError(Exception):
    """A provider could not do what was asked; ``http_status`` is how the API answers it."""

    http_status = 502


class ProviderNotConfigured(ProviderError):
    """The endpoint's handover settings do not allow what was asked."""

    http_status = 409


@dataclass(frozen=True)
class AgentAvailability:
    """Whether agents can take a conversation on the endpoint's queue now, with figures."""

    available: bool
    agents_on_queue: int
    agents_idle: int
    conversations_waiting: int
    estimated_wait_seconds: int | None
    checked_at: datetime


@dataclass(frozen=True)
class Finding:
    """One result of a provider's connection test, as shown to an administrator."""

    ok: bool
    text: str


class HandoverProvider:
    """What a handover provider declares. Subclass it and list it in ``HANDOVER_PROVIDERS``."""

    #: Stored in ``Endpoint.handover_provider``; never change it once data exists.
    id: ClassVar[str]
    #: Shown in the Handover Provider select.
    label: ClassVar[str]
    #: The model holding an endpoint's settings for this provider (one per endpoint), if any.
    settings_model: ClassVar[str | None] = None
    #: Dotted path of the admin inline that edits ``settings_model`` on the endpoint page.
    admin_inline: ClassVar[str | None] = None
    #: Dotted path of the REST API serializer of ``settings_model`` (a subclass of
    #: ``endpoints.api.serializers.ProviderSettingsSerializer``), nested in an endpoint under
    #: the key ``id``. ``None``: the API shows no settings for this provider.
    api_serializer: ClassVar[str | None] = None

    #: Dotted path of the ``endpoints.handovers.transports.HandoverTransport`` that relays
    #: handovers.
    transport: ClassVar[str | None] = None

    def get_transport(self) -> HandoverTransport:
        if self.transport is None:
            raise ProviderNotConfigured(f"{self.label} cannot relay handovers.")
        return _transport(self.transport)

    def get_settings_model(self) -> type[models.Model] | None:
        if self.settings_model is None:
            return None
        from django.apps import apps

        return apps.get_model(self.settings_model)

    def get_admin_inline(self) -> type[InlineModelAdmin] | None:
        return import_string(self.admin_inline) if self.admin_inline else None

    def get_api_serializer(self) -> type[Serializer] | None:
        return import_string(self.api_serializer) if self.api_serializer else None

    def get_settings_accessor(self) -> str | None:
        """The name of the endpoint's reverse one-to-one attribute holding these settings."""
        model = self.get_settings_model()
        if model is None:
            return None
        return model._meta.get_field("endpoint").remote_field.get_accessor_name()

    def get_settings(self, endpoint: Endpoint) -> models.Model | None:
        """The endpoint's stored settings for this provider, or ``None``."""
        model = self.get_settings_model()
        if model is None or endpoint.pk is None:
            return None
        try:
            return model.objects.get(endpoint=endpoint)
        except ObjectDoesNotExist:
            return None

    def handover_refusal(self, endpoint: Endpoint) -> str | None:
        """Why a handover cannot start on ``endpoint`` now, or ``None`` when it can."""
        raise NotImplementedError

    def session_duration_minutes(self, endpoint: Endpoint) -> int:
        """Idle minutes after which the endpoint's handovers expire."""
        stored = self.get_settings(endpoint)
        return int(getattr(stored, "session_duration_minutes", DEFAULT_SESSION_DURATION_MINUTES))

    def test_connection(self, endpoint: Endpoint) -> list[Finding]:
        """Check the endpoint's settings against the provider's service (admin "Test")."""
        return [Finding(False, f"{self.label} has no connection test.")]

    def agent_availability(self, endpoint: Endpoint) -> AgentAvailability:
        """Ask the provider whether agents can take a conversation; ``ProviderError`` if not."""
        raise ProviderNotConfigured(f"{self.label} cannot tell agent availability.")

    def __str__(self) -> str:
        return str(self.label)


class NoProvider(HandoverProvider):
    """Handover switched off: every handover request is refused with the reason."""

    id = NO_PROVIDER
    label = "None"

    def handover_refusal(self, endpoint: Endpoint) -> str | None:
        return (
            f"Handover is off for endpoint “{endpoint.name}”: its Handover Provider is None. "
            "Choose a provider in the endpoint's Handover Settings."
        )

    def test_connection(self, endpoint: Endpoint) -> list[Finding]:
        return [Finding(False, "Handover Provider is None: there is no connection to test.")]

    def agent_availability(self, endpoint: Endpoint) -> AgentAvailability:
        raise ProviderNotConfigured(self.handover_refusal(endpoint))


class UnknownProvider(LookupError):
    """A provider id that no entry of ``HANDOVER_PROVIDERS`` declares."""


@functools.cache
def get_providers() -> dict[str, HandoverProvider]:
    """The configured providers by id, in the setting's order."""
    providers: dict[str, HandoverProvider] = {}
    for path in settings.HANDOVER_PROVIDERS:
        try:
            provider_class = import_string(path)
        except ImportError as error:
            raise ImproperlyConfigured(
                f"HANDOVER_PROVIDERS: cannot import {path!r}: {error}"
            ) from None
        if not (isinstance(provider_class, type) and issubclass(provider_class, HandoverProvider)):
            raise ImproperlyConfigured(f"HANDOVER_PROVIDERS: {path!r} is not a HandoverProvider.")
        if provider_class.id in providers:
            raise ImproperlyConfigured(
                f"HANDOVER_PROVIDERS: {path!r} repeats the id {provider_class.id!r}."
            )
        providers[provider_class.id] = provider_class()
    return providers


@functools.cache
def _transport(path: str) -> HandoverTransport:
    return import_string(path)()


@receiver(setting_changed)
def _reset_providers(*, setting: str, **kwargs: object) -> None:
    if setting == "HANDOVER_PROVIDERS":
        get_providers.cache_clear()


def get_provider(provider_id: str) -> HandoverProvider:
    """The provider registered as ``provider_id``; ``UnknownProvider`` when there is none."""
    try:
        return get_providers()[provider_id]
    except KeyError:
        raise UnknownProvider(
            f"No handover provider “{provider_id}”. Known: {', '.join(get_providers())}."
        ) from None


def provider_choices() -> list[tuple[str, str]]:
    """(id, label) of every provider, for a select built at run time (no migration needed)."""
    return [(provider.id, provider.label) for provider in get_providers().values()]
