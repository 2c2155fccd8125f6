"""Callbacks never reach this server's network: checked before each POST, pinned to the address.

A ``Trap`` listens on every local address (IPv4 and IPv6); URLs stored before the rules
existed (written straight to the database) are delivered, and the trap must see no
connection at all.
"""

from __future__ import annotations

import contextlib
import os
import socket
import string
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from endpoints import safe_http
from endpoints.handovers.callbacks import callbacks_deliver
from endpoints.handovers.services import handover_event_record
from endpoints.models import HandoverEvent
from tests.factories import HandoverFactory
from tests.outbound import TLSReceiver
from tests.ssrf_payloads import HOSTS, PAYLOADS, plant

pytestmark = pytest.mark.django_db

SIGNING_SECRET = "planted-signing-secret-91fe"


@pytest.fixture(autouse=True)
def _rules(settings, fake_dns):
    """Nothing listed; DEBUG on, so that http URLs are refused for their host, not their
    scheme; one attempt, short timeouts."""
    settings.DEBUG = True
    settings.CALLBACK_ALLOWED_HOSTS = []
    settings.CALLBACK_MAX_ATTEMPTS = 1
    settings.CALLBACK_CONNECT_TIMEOUT = 0.5
    settings.CALLBACK_READ_TIMEOUT = 1.0
    plant(fake_dns)


def deliver_once(callback_url: str) -> HandoverEvent:
    """Record an agent message on a handover whose endpoint has ``callback_url``, deliver."""
    handover = HandoverFactory(
        endpoint__callback_url=callback_url, endpoint__callback_signing_secret=SIGNING_SECRET
    )
    handover_event_record(
        handover_id=handover.pk, kind="agent_message", data={"text": "Your PIN is 4711"}
    )
    callbacks_deliver(handover.pk)
    return HandoverEvent.objects.get(handover=handover)


@pytest.mark.parametrize(("template", "code"), PAYLOADS)
def test_no_payload_reaches_a_listener(trap, template: str, code: str) -> None:
    event = deliver_once(template.replace("{port}", str(trap.port)))
    assert trap.connections() == []
    assert (event.delivery, event.delivery_attempts) == ("failed", 1)
    assert event.delivery_error.startswith("Not sent: ")


# Generated URLs: internal addresses in the spellings URL parsers and resolvers accept.


@st.composite
def internal_urls(draw: Any, port: int) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "Https"]))
    userinfo = draw(st.sampled_from(["", "", "", "good.com@", "user:pass@"]))
    path = draw(st.text(string.ascii_letters + string.digits + "/-._~%?=&", max_size=20))
    return f"{scheme}://{userinfo}{draw(HOSTS)}:{port}/{path}"


@hypothesis_settings(
    max_examples=300,
    deadline=None,
    # The same examples on every run, so CI is repeatable; set HYPOTHESIS_RANDOM=1 to explore.
    derandomize=not os.environ.get("HYPOTHESIS_RANDOM"),
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_generated_internal_urls_are_refused_and_reach_nothing(trap, data: Any) -> None:
    url = data.draw(internal_urls(trap.port))
    with pytest.raises(safe_http.Refused):
        safe_http.post(url, b"{}", {}, connect_timeout=0.5, read_timeout=1.0)
    assert trap.connections() == []


# The check and the connection agree: the name is resolved once, its checked address is used.


def test_dns_rebinding_cannot_turn_a_checked_name_inward(fake_dns, trap) -> None:
    """The name answers a public address to the first lookup and 127.0.0.1 afterwards."""
    fake_dns.add("rebind.test", ["93.184.215.14"], ["127.0.0.1"])
    with pytest.raises(safe_http.SendFailed) as failed:
        safe_http.post(
            f"http://rebind.test:{trap.port}/cb", b"{}", {}, connect_timeout=0.5, read_timeout=1
        )
    assert not isinstance(failed.value, safe_http.Refused)  # it was allowed, and tried
    assert trap.connections() == []
    assert fake_dns.count("rebind.test") == 1
    assert "93.184.215.14" in fake_dns.queries  # urllib3 connected to the checked address


def test_a_name_answering_inward_first_is_refused(fake_dns, trap) -> None:
    fake_dns.add("rebind.test", ["127.0.0.1"], ["93.184.215.14"])
    event = deliver_once(f"http://rebind.test:{trap.port}/cb")
    assert trap.connections() == []
    assert event.delivery_error.startswith("Not sent: rebind.test resolves to a loopback")


def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(
    fake_dns, channel, settings
) -> None:
    port = channel.url.split(":")[2].split("/")[0]
    fake_dns.add("receiver.test", ["127.0.0.1"])
    settings.CALLBACK_ALLOWED_HOSTS = ["127.0.0.1"]
    event = deliver_once(f"http://receiver.test:{port}/callback?tenant=7")
    assert event.delivery == "delivered"
    [received] = channel.received
    assert received["headers"]["Host"] == f"receiver.test:{port}"
    assert fake_dns.count("receiver.test") == 1


@pytest.fixture
def tls_receiver(tmp_path, fake_dns, settings, monkeypatch):
    receiver = TLSReceiver(tmp_path, "receiver.test").start()
    fake_dns.add("receiver.test", ["127.0.0.1"])
    fake_dns.add("impostor.test", ["127.0.0.1"])
    settings.CALLBACK_ALLOWED_HOSTS = ["127.0.0.1"]
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", receiver.ca_file)
    yield receiver
    receiver.stop()


def test_tls_names_the_host_while_connecting_to_the_checked_address(tls_receiver) -> None:
    event = deliver_once(f"https://receiver.test:{tls_receiver.port}/cb")
    assert event.delivery == "delivered", event.delivery_error
    assert tls_receiver.server_names == ["receiver.test"]  # SNI
    [received] = tls_receiver.received
    assert received["headers"]["Host"] == f"receiver.test:{tls_receiver.port}"


def test_a_certificate_for_another_name_is_refused(tls_receiver) -> None:
    event = deliver_once(f"https://impostor.test:{tls_receiver.port}/cb")
    assert event.delivery == "failed"
    assert event.delivery_error.startswith("TLS with the callback URL failed")
    assert tls_receiver.received == []


def test_an_untrusted_certificate_is_refused(tls_receiver, monkeypatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    event = deliver_once(f"https://receiver.test:{tls_receiver.port}/cb")
    assert event.delivery_error.startswith("TLS with the callback URL failed")
    assert tls_receiver.received == []


@contextlib.contextmanager
def answering(status: int, headers: dict[str, str], *, host: str = "127.0.0.1"):
    """An HTTP server on ``host`` answering every POST with ``status``; yields its port and
    the Host headers it got."""
    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hosts.append(self.headers["Host"])
            self.send_response(status)
            for name, value in {**headers, "Content-Length": "0"}.items():
                self.send_header(name, value)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

    server = Server((host, 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], hosts
    finally:
        server.shutdown()
        server.server_close()


def test_a_redirect_is_not_followed(trap, settings) -> None:
    settings.CALLBACK_ALLOWED_HOSTS = ["127.0.0.1"]
    with answering(307, {"Location": f"http://[::1]:{trap.port}/"}) as (port, _hosts):
        event = deliver_once(f"http://127.0.0.1:{port}/cb")
    assert event.delivery_error == "The callback URL answered 307"
    assert trap.connections() == []


def test_a_listed_ipv6_receiver_is_reached(settings, fake_dns) -> None:
    settings.CALLBACK_ALLOWED_HOSTS = ["::1"]
    fake_dns.add("v6-receiver.test", ["::1"])
    with answering(204, {}, host="::1") as (port, hosts):
        assert deliver_once(f"http://[::1]:{port}/cb").delivery == "delivered"
        assert deliver_once(f"http://v6-receiver.test:{port}/cb").delivery == "delivered"
    assert hosts == [f"[::1]:{port}", f"v6-receiver.test:{port}"]


# What a refused send records.


def test_a_refused_send_is_a_failed_attempt_retried_then_given_up(trap, settings) -> None:
    settings.CALLBACK_MAX_ATTEMPTS = 3
    settings.CALLBACK_BACKOFF_SECONDS = 0.001
    settings.CALLBACK_BACKOFF_MAX_SECONDS = 0.001
    handover = HandoverFactory(
        endpoint__callback_url=f"http://127.0.0.1:{trap.port}/",
        endpoint__callback_signing_secret=SIGNING_SECRET,
    )
    handover_event_record(handover_id=handover.pk, kind="agent_message", data={"text": "x"})
    first = callbacks_deliver(handover.pk)
    assert first is not None  # to be retried
    event = HandoverEvent.objects.get(handover=handover)
    assert (event.delivery, event.delivery_attempts) == ("pending", 1)
    while callbacks_deliver(handover.pk) is not None:
        pass
    event.refresh_from_db()
    assert (event.delivery, event.delivery_attempts) == ("failed", 3)
    assert trap.connections() == []


def test_a_refused_send_says_why_without_internal_details(trap) -> None:
    event = deliver_once(f"http://internal.test:{trap.port}/")
    assert event.delivery_error == (
        "Not sent: internal.test resolves to a private address: callbacks cannot go to "
        "internal networks. Use a public https URL, or list the receiver's addresses (or "
        "network) in CALLBACK_ALLOWED_HOSTS."
    )
    assert "10.1.2.3" not in event.delivery_error


def test_a_stored_url_s_credentials_are_never_echoed(trap) -> None:
    event = deliver_once(f"http://admin:hunter2-planted@127.0.0.1:{trap.port}/")
    assert "hunter2-planted" not in event.delivery_error
    assert event.delivery_error.startswith("Not sent: Remove the user name and password")


def test_a_name_that_does_not_resolve_is_a_failed_attempt(fake_dns) -> None:
    fake_dns.add("gone.test", [])
    event = deliver_once("https://gone.test/cb")
    assert (event.delivery, event.delivery_error) == (
        "failed",
        "Not sent: gone.test could not be resolved.",
    )


def test_plain_http_to_a_public_host_needs_debug(fake_dns, settings) -> None:
    settings.DEBUG = False
    fake_dns.add("receiver.test", ["93.184.215.14"])
    event = deliver_once("http://receiver.test/cb")
    assert event.delivery_error.startswith("Not sent: Use https")
