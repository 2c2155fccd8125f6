"""The endpoint list's query parameters, validated: a typo is a 400, never a silently
unfiltered list.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers

from endpoints.models import ChannelType, Endpoint
from endpoints.providers import get_providers

ORDERINGS = ["name", "-name", "updated_at", "-updated_at"]


def _invalid_choice(what: str, choices: list[str]) -> str:
    # The message never echoes the input: it may be anything a client sent.
    return f"Not a {what}. Valid values: {', '.join(choices)}."


class EndpointListQuery(serializers.Serializer):
    handover_provider = serializers.ChoiceField(
        choices=[], required=False, help_text="Only endpoints with this handover provider id."
    )
    channel_type = serializers.ChoiceField(
        choices=ChannelType.choices,
        required=False,
        help_text="Only endpoints of this channel type.",
        error_messages={"invalid_choice": _invalid_choice("channel type", ChannelType.values)},
    )
    ordering = serializers.ChoiceField(
        choices=ORDERINGS,
        required=False,
        default="name",
        help_text="Sort by name or last update; a leading `-` reverses.",
        error_messages={"invalid_choice": _invalid_choice("ordering", ORDERINGS)},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The registry decides at run time, as in the admin: a new provider needs no change.
        field = self.fields["handover_provider"]
        field.choices = list(get_providers())
        field.error_messages["invalid_choice"] = _invalid_choice(
            "handover provider", list(get_providers())
        )

    def filter(self, queryset: QuerySet[Endpoint]) -> QuerySet[Endpoint]:
        """``queryset`` filtered and ordered by the validated parameters."""
        data = self.validated_data
        if "handover_provider" in data:
            queryset = queryset.filter(handover_provider=data["handover_provider"])
        if "channel_type" in data:
            queryset = queryset.filter(channel_type=data["channel_type"])
        return queryset.order_by(data["ordering"], "pk")
