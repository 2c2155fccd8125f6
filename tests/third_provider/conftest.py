"""The Test Desk installed, an endpoint on it pushing callbacks to ``channel``, and the
search for its planted secrets in everything the portal puts out meanwhile."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from endpoints.models import Endpoint
from tests.canaries import Canary, MemoryBroker, Outputs
from tests.factories import ChannelFactory, issue_key


@dataclass
class DeskWorld:
    endpoint: Endpoint
    key: str  # the channel's API key
    token: Canary  # the desk's API token, as stored in the settings
    signing_secret: Canary  # the endpoint's callback signing secret

    @property
    def canaries(self) -> list[Canary]:
        return [self.token, self.signing_secret, Canary("channel API key", self.key.split(".")[1])]


@pytest.fixture
def world(desk_provider, desk, channel, settings) -> DeskWorld:
    from tests.desk_provider.factories import DeskSettingsFactory

    settings.RELAY_BACKOFF_SECONDS = 0.01
    settings.CALLBACK_BACKOFF_SECONDS = 0.01
    signing_secret = Canary.planted("callback signing secret", escaped=True)
    endpoint = DeskSettingsFactory(
        endpoint__name="Desk bot",
        endpoint__callback_url=channel.url,
        endpoint__callback_signing_secret=signing_secret.value,
        desk_url=desk.url,
        api_token=desk.token,
    ).endpoint
    _, key = issue_key(ChannelFactory(name="Desk channel", endpoints=[endpoint]))
    return DeskWorld(endpoint, key, Canary("desk API token", desk.token), signing_secret)


@pytest.fixture
def outputs(world: DeskWorld, caplog: pytest.LogCaptureFixture) -> Iterator[Outputs]:
    """Add every output with ``outputs.add``; ``outputs.finish(caplog.records)`` searches
    them, and what was logged, for the world's canaries."""
    caplog.set_level(logging.DEBUG)
    found = Outputs(world.canaries)
    with found.logs.capturing():
        yield found


@pytest.fixture
def broker(outputs: Outputs) -> MemoryBroker:
    """The published tasks, each searched for the canaries, run as a worker would."""
    from handover_portal.celery import app

    memory = MemoryBroker(app, outputs)
    memory.purge()
    return memory


def answer(response: Any) -> bytes:
    """A test client's response as it goes on the wire: status, headers, body."""
    return f"{response.status_code}\n".encode() + response.serialize_headers() + response.content
