from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from endpoints.api.serializers import ProviderSettingsSerializer
from endpoints.checks import check_provider_settings_timestamps
from endpoints.providers import HandoverProvider, UnknownProvider, get_provider, provider_choices
from genesys.models import OpenMessagingInbox
from tests.factories import EndpointFactory, GenesysSettingsFactory

pytestmark = pytest.mark.django_db


class ExampleProvider(HandoverProvider):
    """A provider that exists only in this test module."""

    id = "example"
    label = "Example Desk"

    def handover_refusal(self, endpoint):
        return None


def test_the_registry_lists_the_configured_providers_in_the_settings_order(settings):
    choices = provider_choices()
    assert len(choices) == len(settings.HANDOVER_PROVIDERS)
    assert choices[0] == ("none", "None")
    # The default configuration ships both Genesys channels.
    assert {("genesys", "Genesys Cloud"), ("genesys_om", "Genesys Cloud Open Messaging")} <= set(
        choices
    )


def test_a_provider_is_a_registered_module_not_a_migration():
    providers = [
        "endpoints.providers.NoProvider",
        "genesys.providers.GenesysCloudProvider",
        f"{__name__}.ExampleProvider",
    ]
    with override_settings(HANDOVER_PROVIDERS=providers):
        assert ("example", "Example Desk") in provider_choices()
        endpoint = EndpointFactory(handover_provider="example")
        endpoint.full_clean()
        assert endpoint.get_provider().label == "Example Desk"
        assert endpoint.handover_refusal() is None
    assert "example" not in dict(provider_choices())


def test_unknown_provider_is_refused_by_clean():
    endpoint = EndpointFactory.build(handover_provider="zendesk")
    with pytest.raises(ValidationError) as error:
        endpoint.full_clean()
    assert (
        "“zendesk” is not a handover provider" in error.value.message_dict["handover_provider"][0]
    )
    with pytest.raises(UnknownProvider, match="Known: none, genesys"):
        get_provider("zendesk")


def test_provider_none_refuses_handover_with_a_reason():
    endpoint = EndpointFactory(name="Support bot", handover_provider="none")
    assert endpoint.handover_refusal() == (
        "Handover is off for endpoint “Support bot”: its Handover Provider is None. "
        "Choose a provider in the endpoint's Handover Settings."
    )


def test_genesys_without_settings_is_refused_and_with_settings_accepted():
    endpoint = EndpointFactory(name="Bot", handover_provider="genesys")
    assert "Genesys Cloud settings of endpoint “Bot” are incomplete" in endpoint.handover_refusal()
    settings = GenesysSettingsFactory(endpoint=endpoint)
    assert endpoint.handover_refusal() is None
    assert endpoint.get_provider_settings() == settings


def test_settings_of_an_inactive_provider_are_kept_but_unused():
    settings = GenesysSettingsFactory()
    endpoint = settings.endpoint
    endpoint.handover_provider = "none"
    endpoint.save()
    assert endpoint.get_provider_settings() is None
    assert endpoint.handover_refusal().startswith("Handover is off")
    endpoint.refresh_from_db()
    assert endpoint.genesys_settings == settings


class UntimedSettingsSerializer(ProviderSettingsSerializer):
    """Shows a model without ``updated_at``: the endpoint's ETag could not be made."""

    class Meta:
        model = OpenMessagingInbox
        fields = ["attempts"]


class UntimedProvider(ExampleProvider):
    id = "untimed"
    settings_model = "genesys.OpenMessagingInbox"
    api_serializer = f"{__name__}.UntimedSettingsSerializer"


def test_settings_the_api_shows_without_updated_at_are_a_check_error(settings):
    assert check_provider_settings_timestamps() == []  # the shipped providers have it
    with override_settings(
        HANDOVER_PROVIDERS=[*settings.HANDOVER_PROVIDERS, f"{__name__}.UntimedProvider"]
    ):
        [error] = check_provider_settings_timestamps()
    assert error.id == "handover_portal.E006"
    assert "genesys.OpenMessagingInbox has no updated_at" in error.msg
    assert "'untimed'" in error.msg
