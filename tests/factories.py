"""factory_boy factories for the models under test."""

from __future__ import annotations

import uuid

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token

from endpoints.models import ChannelType, Endpoint
from genesys.models import GenesysSettings, OAuth2Connection

# A planted secret: tests search every output for it.
CLIENT_SECRET = "planted-Client-Secret-7c1f0b2e"


class EndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Endpoint

    name = factory.Sequence(lambda n: f"Endpoint {n}")
    channel_type = ChannelType.WEBCHAT
    handover_provider = "none"


class OAuth2ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OAuth2Connection

    name = factory.Sequence(lambda n: f"Genesys OAuth {n}")
    oauth_url = "https://login.mypurecloud.de/oauth/token"
    client_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    client_secret = CLIENT_SECRET


class GenesysSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GenesysSettings

    endpoint = factory.SubFactory(EndpointFactory, handover_provider="genesys")
    host = "mypurecloud.de"
    organization_id = factory.LazyFunction(uuid.uuid4)
    deployment_id = factory.LazyFunction(uuid.uuid4)
    queue_name = "Cognigy HQ Queue"
    queue_id = factory.LazyFunction(uuid.uuid4)
    node_authentication = factory.SubFactory(OAuth2ConnectionFactory)


class UserFactory(factory.django.DjangoModelFactory):
    """A user; ``UserFactory(view=["endpoints.endpoint"])`` grants view permissions."""

    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")

    @factory.post_generation
    def view(self, create: bool, models: list[str] | None, **kwargs: object) -> None:
        for label in models or []:
            app_label, model_name = label.split(".")
            self.user_permissions.add(
                Permission.objects.get(
                    content_type__app_label=app_label, codename=f"view_{model_name}"
                )
            )


class TokenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Token

    user = factory.SubFactory(UserFactory)


class HandoverFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "endpoints.Handover"

    endpoint = factory.SubFactory(EndpointFactory, handover_provider="genesys")
    provider = "genesys"
    user_id = factory.Sequence(lambda n: f"user-{n}")
    session_id = factory.Sequence(lambda n: f"session-{n}")
    status = "queued"
    session_duration_minutes = 20
