from __future__ import annotations

from genesys_sandbox.open_messaging_models import DEMO_OPEN_INTEGRATION_ID
from genesys_sandbox.state import (
    DEMO_CLIENT_ID,
    DEMO_DEPLOYMENT_ID,
    DEMO_ORGANIZATION_ID,
    DEMO_QUEUE_ID,
)


def test_the_command_prints_the_base_url_and_demo_ids(sandbox):
    banner = sandbox.log_path.read_text()

    assert f"Genesys Cloud sandbox: {sandbox.url}" in banner
    for value in (
        DEMO_CLIENT_ID,
        DEMO_ORGANIZATION_ID,
        DEMO_DEPLOYMENT_ID,
        DEMO_QUEUE_ID,
        DEMO_OPEN_INTEGRATION_ID,
    ):
        assert value in banner
    assert "sandbox-secret" not in banner
