from __future__ import annotations

import uuid

import pytest
from cryptography.fernet import Fernet
from django.core.cache import cache

from tests.factories import CLIENT_SECRET, GenesysSettingsFactory, OAuth2ConnectionFactory


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``@pytest.mark.postgresql("why")``: the test is of PostgreSQL's behaviour (its row
    locks, the SQL written for it); on SQLite (``make test`` without ``DATABASE_URL``) it
    is skipped with that reason."""
    marker = item.get_closest_marker("postgresql")
    if marker is None:
        return
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip(f"PostgreSQL only: {marker.args[0] if marker.args else 'its behaviour'}")


@pytest.fixture(scope="session", autouse=True)
def _in_memory_broker():
    """Tasks enqueued by the code under test go nowhere, unless a test brings a worker."""
    from handover_portal.celery import app

    app.conf.broker_url = "memory://"


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


# The app pointed at the sandbox, with a client, a queue and an endpoint using them.

CLIENT_ID = "portal-test-client"
QUEUE_NAME = "Portal Test Queue"


@pytest.fixture
def genesys(sandbox, settings):
    """The app configured to call the sandbox, with fast retries and short timeouts."""
    settings.GENESYS_API_BASE_URL = sandbox.url
    settings.GENESYS_HTTP_BACKOFF_SECONDS = 0.01
    settings.GENESYS_HTTP_BACKOFF_MAX_SECONDS = 0.05
    settings.GENESYS_HTTP_MAX_ATTEMPTS = 3
    settings.GENESYS_HTTP_READ_TIMEOUT = 2.0
    settings.GENESYS_HTTP_RETRY_AFTER_MAX_SECONDS = 5.0
    cache.clear()
    sandbox.put_client(CLIENT_ID, client_secret=CLIENT_SECRET)
    yield sandbox
    cache.clear()


@pytest.fixture
def connection(genesys, db):
    return OAuth2ConnectionFactory(name="Sandbox client", client_id=CLIENT_ID)


@pytest.fixture
def queue_id(genesys) -> uuid.UUID:
    queue = uuid.uuid4()
    genesys.put_queue(
        str(queue),
        name=QUEUE_NAME,
        agents_on_queue=3,
        agents_idle=2,
        conversations_waiting=1,
        estimated_wait_seconds=42,
    )
    return queue


@pytest.fixture
def genesys_settings(connection, queue_id):
    return GenesysSettingsFactory(
        queue_id=queue_id, queue_name=QUEUE_NAME, node_authentication=connection
    )


#: The test receivers listen on the loopback address, which callbacks may reach only when listed.
CALLBACK_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture
def channel(settings):
    """The channel's callback endpoint, as a real HTTP server (on 127.0.0.1, allowed)."""
    from tests.channel import ChannelServer

    settings.CALLBACK_ALLOWED_HOSTS = CALLBACK_ALLOWED_HOSTS
    server = ChannelServer().start()
    yield server
    server.stop()


@pytest.fixture
def fake_dns(monkeypatch):
    """``socket.getaddrinfo`` with planted names (``fake_dns.add``); others resolve for real."""
    import socket

    from tests.outbound import FakeDNS

    dns = FakeDNS(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
    return dns


@pytest.fixture
def trap():
    """A TCP listener on every local address that nothing may reach."""
    from tests.outbound import Trap

    listener = Trap()
    yield listener
    listener.close()


# The Test Desk: a third provider (tests/desk_provider) and the desk it talks to.


@pytest.fixture
def desk(settings):
    """The fake desk (``tests.fake_desk``), a real HTTP server on 127.0.0.1, with a planted
    API token of its own."""
    from tests.canaries import Canary
    from tests.fake_desk import FakeDesk

    settings.DESK_HTTP_READ_TIMEOUT = 2.0
    server = FakeDesk(token=Canary.planted("desk API token", escaped=True).value).start()
    yield server
    server.stop()


@pytest.fixture
def desk_provider(transactional_db):
    """The Test Desk installed as a provider for this test (its app, its setting line, its
    table): see ``tests.desk_provider.install``."""
    from tests.desk_provider.install import desk_installed

    with desk_installed():
        yield


# A model that declares its secrets on their fields and nowhere else (tests/vault).


@pytest.fixture
def locker_table(transactional_db):
    """The table of ``tests.vault``'s ``Locker`` for this test (the app is not installed:
    the test database was made without it); made with the schema editor, dropped after."""
    from django.db import connection

    from tests.vault.models import Locker

    with connection.schema_editor() as editor:
        editor.create_model(Locker)
    yield Locker
    with connection.schema_editor() as editor:
        editor.delete_model(Locker)
