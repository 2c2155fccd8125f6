"""The ``harness`` fixture: each contract test runs once per transport."""

from __future__ import annotations

import pytest

from tests.contract.harnesses import DeskHarness, OpenMessagingHarness, WebChatHarness

#: The Test Desk's table is made for the test: a transactional test (``desk_provider``).
TRANSPORTS = [
    "webchat",
    "open_messaging",
    pytest.param("desk", marks=pytest.mark.django_db(transaction=True)),
]


@pytest.fixture(params=TRANSPORTS)
def harness(request, settings):
    settings.RELAY_BACKOFF_SECONDS = 0.01
    if request.param == "desk":
        request.getfixturevalue("desk_provider")
        return DeskHarness(settings, request.getfixturevalue("desk"))
    genesys = request.getfixturevalue("genesys")
    if request.param == "webchat":
        return WebChatHarness(settings, genesys)
    return OpenMessagingHarness(settings, genesys)
