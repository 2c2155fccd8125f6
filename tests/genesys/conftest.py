from __future__ import annotations

import pytest

from genesys.open_messaging.transport import OpenMessagingTransport
from tests.factories import HandoverFactory, OpenMessagingSettingsFactory


@pytest.fixture
def om_handover(db):
    """An open Open Messaging handover, its conversation started on our side."""
    om_settings = OpenMessagingSettingsFactory()
    handover = HandoverFactory(endpoint=om_settings.endpoint, provider="genesys_om")
    OpenMessagingTransport().start(handover)
    return handover
