"""Serializers of the endpoint API, and the base of every provider's nested settings.

An endpoint nests each provider's settings under the provider's id, through the serializer
the provider declares (``HandoverProvider.api_serializer``): ``endpoints`` never imports a
provider's app. No serializer here or in a provider shows a sensitive model field
(``EncryptedTextField``): DRF maps it to a write-only field (``endpoints.api.secret_fields``)
and ``RedactedModelSerializer`` refuses a declared field that would read it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models
from rest_framework import serializers

from endpoints.api.secret_fields import presence_field
from endpoints.models import Endpoint
from endpoints.providers import HandoverProvider, get_providers


class RedactedModelSerializer(serializers.ModelSerializer):
    """A model serializer that never shows a sensitive field of its model.

    A secret listed in ``Meta.fields`` (or ``"__all__"``) is write-only
    (``WriteOnlySecretSerializerField``, DRF's mapping of ``EncryptedTextField``); listing
    ``has_<secret>`` shows whether one is stored. A declared field that would read a
    sensitive field is refused.
    """

    def build_field(
        self, field_name: str, info: Any, model_class: type[models.Model], nested_depth: int
    ) -> tuple[type[serializers.Field], dict[str, Any]]:
        return presence_field(model_class, field_name) or super().build_field(
            field_name, info, model_class, nested_depth
        )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        model = self.Meta.model
        for name, field in fields.items():
            if field.write_only or field.source == "*":
                continue
            source = (field.source or name).split(".")[0]
            try:
                model_field = model._meta.get_field(source)
            except FieldDoesNotExist:
                continue
            if getattr(model_field, "sensitive", False):
                raise ImproperlyConfigured(
                    f"{type(self).__name__}.{name}: {model._meta.label}.{source} is sensitive "
                    f"and never leaves through the API. List has_{source} to show whether "
                    "it is set."
                )
        return fields


class ProviderSettingsSerializer(RedactedModelSerializer):
    """Base of a provider's settings serializer, nested in an endpoint under the provider's id.

    Shows the settings only while that provider is selected (else ``null``), and ``null``
    when none are stored.
    """

    #: Relations of the settings model that the serializer reads (``select_related`` paths
    #: relative to the settings). The endpoint query joins them, so a list of any length
    #: costs the same queries, and they count in the endpoint's ETag.
    select_related: ClassVar[tuple[str, ...]] = ()
    #: Permissions that change what the serializer shows (a nested object in full, or only
    #: its id): whether the requester holds each counts in the endpoint's ETag.
    representation_permissions: ClassVar[tuple[str, ...]] = ()

    def get_attribute(self, instance: Endpoint) -> Any:
        if instance.handover_provider != self.field_name:
            return None
        return super().get_attribute(instance)


def provider_settings_serializers() -> Iterator[
    tuple[HandoverProvider, type[ProviderSettingsSerializer]]
]:
    """Each configured provider that declares an API serializer, with that serializer."""
    for provider in get_providers().values():
        serializer_class = provider.get_api_serializer()
        if serializer_class is not None:
            yield provider, serializer_class


def endpoint_representation_permissions() -> list[str]:
    """Every permission that changes what an endpoint shows, across the providers."""
    return [
        perm
        for _provider, serializer_class in provider_settings_serializers()
        for perm in serializer_class.representation_permissions
    ]


def endpoint_select_related() -> list[str]:
    """Every provider's settings and the relations its serializer reads, to join in one query."""
    paths: list[str] = []
    for provider, serializer_class in provider_settings_serializers():
        accessor = provider.get_settings_accessor()
        paths += [accessor, *(f"{accessor}__{path}" for path in serializer_class.select_related)]
    return paths


def provider_settings_timestamp_fields() -> dict[str, list[str]]:
    """For each provider with settings in the API, the ``updated_at`` paths (from the
    endpoint, as for ``.values()``) of the rows its nested settings show: the settings,
    then each row its serializer's ``select_related`` reaches."""
    fields = {}
    for provider, serializer_class in provider_settings_serializers():
        accessor = provider.get_settings_accessor()
        rows = [accessor]
        for path in serializer_class.select_related:
            names = path.split("__")
            rows += ["__".join([accessor, *names[:depth]]) for depth in range(1, len(names) + 1)]
        fields[provider.id] = [f"{row}__updated_at" for row in dict.fromkeys(rows)]
    return fields


class BlankAsNullURLField(serializers.URLField):
    """An optional URL: ``null`` when blank, so that a present value is always a URL."""

    def to_representation(self, value: str) -> str | None:
        return value or None


class EndpointSerializer(RedactedModelSerializer):
    """A channel through which a bot talks to users, and its handover provider's settings.

    Each provider with settings in the API has its key, named by the provider's id; it is
    null unless that provider is the endpoint's `handover_provider`.
    """

    id = serializers.UUIDField(
        source="public_id", read_only=True, help_text="The endpoint's public ID."
    )
    callback_url = BlankAsNullURLField(
        read_only=True,
        allow_null=True,
        help_text="Where agent messages and handover events are pushed; null when unset.",
    )
    handover_provider = serializers.CharField(
        read_only=True,
        help_text="The id of the handover provider: `none` (handover off) or e.g. `genesys`.",
    )

    class Meta:
        model = Endpoint
        fields = [
            "id",
            "name",
            "channel_type",
            "callback_url",
            "handover_provider",
            "queue_update_seconds",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for provider, serializer_class in provider_settings_serializers():
            if provider.id in fields:
                raise ImproperlyConfigured(
                    f"Provider id {provider.id!r} collides with the endpoint field of that name."
                )
            fields[provider.id] = serializer_class(
                source=provider.get_settings_accessor(),
                read_only=True,
                allow_null=True,
                help_text=(
                    f"The {provider.label} settings: present while `handover_provider` is "
                    f"`{provider.id}` and its settings are stored, else null."
                ),
            )
        return fields


class AgentAvailabilitySerializer(serializers.Serializer):
    """``endpoints.providers.AgentAvailability``."""

    available = serializers.BooleanField(
        help_text="At least one agent is on queue and not all of them are unable to take work."
    )
    agents_on_queue = serializers.IntegerField(min_value=0)
    agents_idle = serializers.IntegerField(min_value=0)
    conversations_waiting = serializers.IntegerField(min_value=0)
    estimated_wait_seconds = serializers.IntegerField(
        allow_null=True, help_text="The provider's estimate, or null when it has none."
    )
    checked_at = serializers.DateTimeField(help_text="When the provider was asked.")
