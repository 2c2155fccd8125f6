"""Handover providers: the registry through which the project reaches every provider.

A provider is a class with declarative attributes in its app's ``providers`` module, listed
by dotted path in the ``HANDOVER_PROVIDERS`` setting: its app is installed from that line
(``endpoints.provider_apps``), and it declares everything else the project needs of it:
its settings model, admin inline and API serializer (configuration), its transport, URLs,
periodic tasks and relay listener (run time). Adding a provider is one app and one line;
neither ``handover_portal`` nor ``endpoints`` imports a provider's app.
"""

from __future__ import annotations

import functools
import importlib
import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import URLPattern, URLResolver, clear_url_caches, include, path
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from django.contrib.admin import InlineModelAdmin
    from django.db import models
    from rest_framework.serializers import Serializer

    from endpoints.handovers.transports import HandoverTransport
    from endpoints.models import Endpoint

logger = logging.getLogger("endpoints.providers")

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
    #: Shown in the endpoint API, it needs an ``updated_at`` (``auto_now``): the endpoint's
    #: ETag is made of it (``handover_portal.E006``).
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

    #: Dotted path of a URLconf module mounted at ``/<url_prefix>/``: the provider's service
    #: calling us (webhooks). Give it an ``app_name``: its URLs are reversed by namespace.
    urls: ClassVar[str | None] = None
    #: Where ``urls`` is mounted; by default the provider's app label.
    url_prefix: ClassVar[str | None] = None
    #: Dotted path of a URLconf module mounted under ``/api/v1/`` (the provider's resources).
    api_urls: ClassVar[str | None] = None
    #: Dotted path of the class the ``relay`` command runs for this provider's open
    #: handovers (an ``endpoints.handovers.relay.RelayListener``). Providers naming the same
    #: class share one instance, and so one division of their handovers between replicas.
    relay_listener: ClassVar[str | None] = None

    def periodic_tasks(self) -> Mapping[str, Mapping[str, Any]]:
        """Celery beat entries the provider needs, ``{name: {"task": …, "schedule": …}}``
        as in ``CELERY_BEAT_SCHEDULE``; the project's beat runs them."""
        return {}

    @classmethod
    def app_label(cls) -> str:
        """The label of the Django app the provider's class lives in."""
        from django.apps import apps

        config = apps.get_containing_app_config(cls.__module__)
        if config is None:
            raise ImproperlyConfigured(f"{cls.__module__} is in no installed app.")
        return config.label

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
    for dotted in settings.HANDOVER_PROVIDERS:
        try:
            provider_class = import_string(dotted)
        except ImportError as error:
            raise ImproperlyConfigured(
                f"HANDOVER_PROVIDERS: cannot import {dotted!r}: {error}"
            ) from None
        if not (isinstance(provider_class, type) and issubclass(provider_class, HandoverProvider)):
            raise ImproperlyConfigured(f"HANDOVER_PROVIDERS: {dotted!r} is not a HandoverProvider.")
        if provider_class.id in providers:
            raise ImproperlyConfigured(
                f"HANDOVER_PROVIDERS: {dotted!r} repeats the id {provider_class.id!r}."
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
        # The project's URLconf mounts the providers' URLs when it is imported.
        urlconf = sys.modules.get(settings.ROOT_URLCONF)
        if urlconf is not None:
            importlib.reload(urlconf)
        clear_url_caches()


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


def _unique(paths: list[str | None]) -> list[str]:
    return list(dict.fromkeys(dotted for dotted in paths if dotted))


def _configured() -> list[HandoverProvider]:
    """The providers, for the URLconf: a broken ``HANDOVER_PROVIDERS`` mounts none (and is
    logged) so that ``manage.py check`` can report it (``handover_portal.E004``)."""
    try:
        return list(get_providers().values())
    except ImproperlyConfigured as error:
        logger.error("No provider URLs mounted: %s", error)
        return []


def provider_urlpatterns() -> list[URLResolver | URLPattern]:
    """Every provider's ``urls``, each at ``/<url_prefix>/`` (once per module)."""
    mounted: dict[str, str] = {}
    for provider in _configured():
        if provider.urls and provider.urls not in mounted:
            mounted[provider.urls] = provider.url_prefix or provider.app_label()
    return [path(f"{prefix}/", include(module)) for module, prefix in mounted.items()]


def provider_api_urlpatterns() -> list[URLResolver | URLPattern]:
    """Every provider's ``api_urls``, for the project to mount under ``/api/v1/``."""
    modules = _unique([provider.api_urls for provider in _configured()])
    return [path("", include(module)) for module in modules]


def beat_schedule() -> dict[str, Mapping[str, Any]]:
    """The providers' periodic tasks, one beat entry each (a name repeated is refused)."""
    schedule: dict[str, Mapping[str, Any]] = {}
    for provider in get_providers().values():
        for name, entry in provider.periodic_tasks().items():
            if name in schedule and schedule[name] != entry:
                raise ImproperlyConfigured(
                    f"HANDOVER_PROVIDERS: two providers declare the periodic task {name!r}."
                )
            schedule[name] = entry
    return schedule


def install_beat_schedule(app: Any) -> None:
    """Give the Celery ``app`` the project's beat entries plus every provider's."""
    app.conf.beat_schedule = {**settings.CELERY_BEAT_SCHEDULE, **beat_schedule()}


def relay_listeners() -> dict[str, tuple[str, ...]]:
    """Each relay listener's dotted path → the ids of the providers it serves."""
    listeners: dict[str, list[str]] = {}
    for provider in get_providers().values():
        if provider.relay_listener:
            listeners.setdefault(provider.relay_listener, []).append(provider.id)
    return {dotted: tuple(ids) for dotted, ids in listeners.items()}
