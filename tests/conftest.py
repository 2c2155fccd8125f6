from __future__ import annotations

import pytest
from cryptography.fernet import Fernet


@pytest.fixture
def new_key() -> str:
    """A fresh Fernet key, as text."""
    return Fernet.generate_key().decode("ascii")


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory: pytest.TempPathFactory):
    """The Genesys Cloud sandbox as a real subprocess, once per test session."""
    from tests.sandbox import SandboxServer

    log_path = tmp_path_factory.mktemp("genesys-sandbox") / "sandbox.log"
    server = SandboxServer(log_path).start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server):
    """The running sandbox, reset to the demo world for this test."""
    sandbox_server.reset()
    return sandbox_server
