"""System checks: configuration problems stop the app with a message that says how to fix them."""

from __future__ import annotations

import contextlib
from typing import Any

from django.conf import settings
from django.contrib.admin import site
from django.core import checks
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db.models import Model

from endpoints import crypto
from endpoints.admin_secrets import SecretsAdminMixin
from endpoints.fields import encrypted_fields
from endpoints.providers import get_providers

RANDOM_VALUE_COMMAND = (
    'python -c "from django.core.management.utils import get_random_secret_key as k; print(k())"'
)


@checks.register()
def check_secret_key(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        secret_key = settings.SECRET_KEY
    except ImproperlyConfigured:
        secret_key = ""
    if secret_key:
        return []
    return [
        checks.Error(
            "SECRET_KEY is not set.",
            hint=(
                "Set the SECRET_KEY environment variable to a long random value: "
                + RANDOM_VALUE_COMMAND
            ),
            id="handover_portal.E001",
        )
    ]


@checks.register()
def check_encryption_keys(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        keys = crypto.parse_keys(settings.FIELD_ENCRYPTION_KEYS)
    except ValueError as error:
        return [
            checks.Error(
                f"FIELD_ENCRYPTION_KEYS: {error}.",
                hint="Replace it with a key from `python manage.py generate_encryption_key`.",
                id="handover_portal.E003",
            )
        ]
    if keys:
        return []
    return [
        checks.Error(
            "FIELD_ENCRYPTION_KEYS is not set: stored secrets cannot be encrypted or read.",
            hint=(
                "Set FIELD_ENCRYPTION_KEYS to a key from `python manage.py "
                "generate_encryption_key` (comma-separated: the first encrypts, all decrypt). "
                "Keep it apart from SECRET_KEY and back it up: without it no secret is readable."
            ),
            id="handover_portal.E002",
        )
    ]


@checks.register()
def check_handover_providers(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        get_providers()
    except ImproperlyConfigured as error:
        return [
            checks.Error(
                str(error),
                hint="List HandoverProvider subclasses by dotted path in HANDOVER_PROVIDERS.",
                id="handover_portal.E004",
            )
        ]
    return []


@checks.register()
def check_provider_settings_timestamps(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """The endpoint API's ETag is made of the ``updated_at`` of every row an endpoint shows
    (``EndpointViewSet.get_etag_timestamps``): a provider's settings model, and each model
    its serializer's ``select_related`` reaches, needs one (else every GET answers 500)."""
    from endpoints.api.serializers import provider_settings_serializers

    try:
        shown = [
            (provider, serializer_class, provider.get_settings_model())
            for provider, serializer_class in provider_settings_serializers()
        ]
    except (ImproperlyConfigured, ImportError, LookupError):
        return []  # handover_portal.E004 (or the import itself) says why
    errors = []
    for provider, serializer_class, settings_model in shown:
        if settings_model is None:
            continue
        models_shown = [settings_model]
        for path in serializer_class.select_related:
            model = settings_model
            for name in path.split("__"):
                model = model._meta.get_field(name).related_model
                models_shown.append(model)
        for model in dict.fromkeys(models_shown):
            try:
                model._meta.get_field("updated_at")
            except FieldDoesNotExist:
                errors.append(
                    checks.Error(
                        f"{model._meta.label} has no updated_at field, and the endpoint API "
                        f"shows it for the provider {provider.id!r}: the endpoint's ETag is "
                        "made of it.",
                        hint="Add updated_at = models.DateTimeField(auto_now=True) to it.",
                        obj=model,
                        id="handover_portal.E006",
                    )
                )
    return errors


def lease_too_short(longest_seconds: float, what: str, check_id: str) -> list[checks.CheckMessage]:
    """An error if a worker could spend ``longest_seconds`` without renewing its lease.

    A lease is renewed when a third of it has passed, before each attempt and each wait:
    the rest of it must cover the longest attempt or wait (else another worker takes over
    mid-call and the message is sent twice).
    """
    usable = settings.RELAY_LEASE_SECONDS * 2 / 3
    if longest_seconds < usable:
        return []
    return [
        checks.Error(
            f"RELAY_LEASE_SECONDS ({settings.RELAY_LEASE_SECONDS:g}) is too short for {what} "
            f"({longest_seconds:g} s): two-thirds of the lease must exceed it.",
            hint=f"Set RELAY_LEASE_SECONDS above {longest_seconds * 1.5:g}, or shorten {what}.",
            id=check_id,
        )
    ]


@checks.register()
def check_callback_lease(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    longest = settings.CALLBACK_CONNECT_TIMEOUT + settings.CALLBACK_READ_TIMEOUT
    return lease_too_short(
        longest, "CALLBACK_CONNECT_TIMEOUT + CALLBACK_READ_TIMEOUT", "handover_portal.E005"
    )


#: Admin options that would show a field's value (decrypted, for a secret).
_SHOWING_OPTIONS = ("list_display", "list_display_links", "list_editable", "readonly_fields")
_COMPARING_OPTIONS = ("search_fields", "list_filter", "ordering", "sortable_by")


def admin_secret_errors(admin_class: type, model: type[Model]) -> list[checks.CheckMessage]:
    """Why ``admin_class`` (a model admin or inline of ``model``) could show a secret."""
    secrets = {field.name for field in encrypted_fields(model)}
    if not secrets:
        return []
    label = f"{admin_class.__module__}.{admin_class.__qualname__}"
    if not issubclass(admin_class, SecretsAdminMixin):
        return [
            checks.Error(
                f"{label} administers {model._meta.label}, which has secrets "
                f"({', '.join(sorted(secrets))}), without SecretsAdminMixin: a user who may "
                "only view would read them decrypted.",
                hint="Add endpoints.admin_secrets.SecretsAdminMixin to its bases.",
                obj=admin_class,
                id="endpoints.E102",
            )
        ]
    errors = []
    for option in (*_SHOWING_OPTIONS, *_COMPARING_OPTIONS):
        named = {str(item).lstrip("-^=@").split("__")[0] for item in _names(admin_class, option)}
        for secret in sorted(named & secrets):
            errors.append(
                checks.Error(
                    f"{label}.{option} names the secret {model._meta.label}.{secret}.",
                    hint="A secret is write-only: show `secret_status` (set / not set) instead.",
                    obj=admin_class,
                    id="endpoints.E103",
                )
            )
    return errors


def _names(admin_class: type, option: str) -> list[Any]:
    items = getattr(admin_class, option, None) or ()
    return [item for item in items if isinstance(item, str)]


@checks.register(checks.Tags.admin)
def check_admins_hide_secrets(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Every admin of a model with secrets (registered, or a provider's inline) hides them."""
    # The site has no public list of its admins: read as AdminSite.check() reads it.
    admins = [(type(model_admin), model) for model, model_admin in site._registry.items()]
    with contextlib.suppress(ImproperlyConfigured):  # handover_portal.E004 says why
        for provider in get_providers().values():
            if (inline := provider.get_admin_inline()) is not None:
                admins.append((inline, inline.model))
    return [
        error for admin_class, model in admins for error in admin_secret_errors(admin_class, model)
    ]
