"""factory_boy factories for the models under test."""

from __future__ import annotations

import uuid

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Q
from rest_framework.authtoken.models import Token

from endpoints.models import (
    Channel,
    ChannelAPIKey,
    ChannelType,
    Endpoint,
    EventKind,
    Handover,
    HandoverEvent,
    OutboundMessage,
)
from genesys.models import GenesysSettings, OAuth2Connection, OpenMessagingSettings

# A planted secret: tests search every output for it.
CLIENT_SECRET = "planted-Client-Secret-7c1f0b2e"
# A planted secret HTTP Basic cannot carry (€ is not Latin-1), as rows written before the
# form refused such secrets may hold.
UNSENDABLE_SECRET = "planted-sécret€-5d0a9c3e"


class EndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Endpoint

    name = factory.Sequence(lambda n: f"Endpoint {n}")
    channel_type = ChannelType.WEBCHAT
    handover_provider = "none"


class ChannelFactory(factory.django.DjangoModelFactory):
    """A channel; ``ChannelFactory(endpoints=[a, b])`` gives it endpoints."""

    class Meta:
        model = Channel
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Channel {n}")

    @factory.post_generation
    def endpoints(self, create: bool, endpoints: list[Endpoint] | None, **kwargs: object) -> None:
        self.endpoints.set(endpoints or [])


def issue_key(channel: Channel, **fields: object) -> tuple[ChannelAPIKey, str]:
    """A new API key of ``channel``, and the key itself (as only its issuer ever sees it)."""
    fields.setdefault("name", f"{channel.name} key")
    return ChannelAPIKey.objects.create_key(channel=channel, **fields)


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


WEBHOOK_SECRET = "open-messaging-signature-secret"


class OpenMessagingSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OpenMessagingSettings

    endpoint = factory.SubFactory(EndpointFactory, handover_provider="genesys_om")
    host = "mypurecloud.de"
    integration_id = factory.LazyFunction(uuid.uuid4)
    deployment_name = "Support bot messaging"
    queue_name = "Cognigy HQ Queue"
    queue_id = factory.LazyFunction(uuid.uuid4)
    node_authentication = factory.SubFactory(OAuth2ConnectionFactory)
    webhook_secret = WEBHOOK_SECRET


class HandoverFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Handover

    endpoint = factory.SubFactory(EndpointFactory, handover_provider="genesys")
    provider = "genesys"
    user_id = factory.Sequence(lambda n: f"user-{n}")
    session_id = factory.Sequence(lambda n: f"session-{n}")
    status = "queued"
    session_duration_minutes = 20


class HandoverEventFactory(factory.django.DjangoModelFactory):
    """The handover's next event (keeps ``Handover.last_event_seq`` in step)."""

    class Meta:
        model = HandoverEvent
        skip_postgeneration_save = True  # the hook updates the handover, not the event

    handover = factory.SubFactory(HandoverFactory)
    kind = EventKind.AGENT_MESSAGE
    data = factory.LazyFunction(lambda: {"text": "How can I help?"})

    @factory.lazy_attribute
    def seq(self) -> int:
        self.handover.last_event_seq += 1
        Handover.objects.filter(pk=self.handover.pk).update(
            last_event_seq=self.handover.last_event_seq
        )
        return self.handover.last_event_seq

    @factory.post_generation
    def firsts(self, create: bool, extracted: object, **kwargs: object) -> None:
        """Keep the handover's first join and reply times, as ``handover_event_record`` does."""
        from endpoints.handovers.services import FIRSTS

        column = FIRSTS.get(self.kind)
        if create and column:
            earlier = Q(**{f"{column}__isnull": True}) | Q(**{f"{column}__gt": self.created_at})
            Handover.objects.filter(earlier, pk=self.handover_id).update(
                **{column: self.created_at}
            )


class OutboundMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutboundMessage

    handover = factory.SubFactory(HandoverFactory)
    kind = OutboundMessage.Kind.MESSAGE
    text = factory.Sequence(lambda n: f"User message {n}")


class UserFactory(factory.django.DjangoModelFactory):
    """A user; ``UserFactory(view=["endpoints.endpoint"])`` grants view permissions,
    ``UserFactory(perms=["endpoints.drive_handover"])`` any others.
    """

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

    @factory.post_generation
    def perms(self, create: bool, names: list[str] | None, **kwargs: object) -> None:
        for name in names or []:
            app_label, codename = name.split(".")
            self.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


class TokenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Token

    user = factory.SubFactory(UserFactory)
