"""A handover's whole life on the Test Desk, a provider the project has never heard of:
the endpoint page and the endpoint API show its settings, the runtime API starts a handover
and the outbox relays it to the desk, the relay listener and the webhook bring the agent's
events back to the channel's callback, and the expiry disconnects the desk conversation.
The desk's API token and the callback signing secret are searched for in every output.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from endpoints.handovers import callbacks
from endpoints.handovers.expiry import handovers_expire
from endpoints.handovers.relay import configured_listeners, run_listeners
from endpoints.models import EventKind, Handover, HandoverEvent, RelayReplica
from tests.admin_forms import endpoint_form
from tests.e2e.conftest import wait_for
from tests.factories import TokenFactory, UserFactory
from tests.third_provider.conftest import answer

pytestmark = pytest.mark.django_db(transaction=True)

PREFIX = "desk_settings"  # the inline's prefix: the endpoint's accessor of the settings


def desk_form(endpoint, **desk: str) -> dict[str, str]:
    """The endpoint page's POST with the Test Desk selected and its inline filled in."""
    settings = endpoint.desk_settings
    data = endpoint_form(
        endpoint,
        genesys={},
        om={},
        name=endpoint.name,
        handover_provider="desk",
        callback_url=endpoint.callback_url,
    )
    data.update(
        {
            f"{PREFIX}-TOTAL_FORMS": "1",
            f"{PREFIX}-INITIAL_FORMS": "1",
            f"{PREFIX}-MIN_NUM_FORMS": "1",
            f"{PREFIX}-MAX_NUM_FORMS": "1",
            f"{PREFIX}-0-id": str(settings.pk),
            f"{PREFIX}-0-endpoint": str(endpoint.pk),
            f"{PREFIX}-0-desk_url": settings.desk_url,
            f"{PREFIX}-0-session_duration_minutes": str(settings.session_duration_minutes),
            f"{PREFIX}-0-api_token": "",
        }
    )
    data.update({f"{PREFIX}-0-{name}": value for name, value in desk.items()})
    return data


def test_the_endpoint_page_shows_and_saves_the_desk_settings(world, outputs, caplog):
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:endpoints_endpoint_change", args=[world.endpoint.pk])

    page = admin.get(url)
    outputs.add("admin page", f"GET {url}", answer(page))
    html = page.content.decode()
    assert "provider-desk" in html  # the fieldset the provider select reveals
    assert f'name="{PREFIX}-0-desk_url"' in html
    assert 'name="handover_provider"' in html
    assert '<option value="desk" selected>' in html
    assert "A secret is stored" in html  # the token: write-only, shown as set

    refused = admin.post(url, desk_form(world.endpoint, desk_url="not a url"))
    outputs.add("admin page", f"POST {url} (errors)", answer(refused))
    assert refused.status_code == 200
    assert b"errornote" in refused.content

    saved = admin.post(url, desk_form(world.endpoint, session_duration_minutes="45"))
    outputs.add("admin page", f"POST {url}", answer(saved))
    assert saved.status_code == 302, saved.content.decode()[-2000:]
    world.endpoint.desk_settings.refresh_from_db()
    assert world.endpoint.desk_settings.session_duration_minutes == 45
    assert world.endpoint.desk_settings.api_token == world.token.value  # blank kept it

    add = admin.get(reverse("admin:endpoints_endpoint_add"))
    outputs.add("admin page", "GET add", answer(add))
    assert f'name="{PREFIX}-0-desk_url"' in add.content.decode()
    outputs.finish(caplog.records)


def test_the_endpoint_api_nests_the_desk_settings_without_the_token(world, outputs, caplog):
    token = TokenFactory(user=UserFactory(view=["endpoints.endpoint"]))
    api = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    url = f"/api/v1/endpoints/{world.endpoint.public_id}/"

    detail = api.get(url)
    listed = api.get("/api/v1/endpoints/?handover_provider=desk")
    schema = api.get("/api/schema/?format=json")
    for response, where in ((detail, url), (listed, "list"), (schema, "schema")):
        assert response.status_code == 200, response.content
        outputs.add("API answer", where, answer(response))

    assert detail.json()["handover_provider"] == "desk"
    assert detail.json()["desk"] == {
        "desk_url": world.endpoint.desk_settings.desk_url,
        "session_duration_minutes": 20,
        "has_api_token": True,
    }
    assert detail.json()["genesys"] is None
    assert [e["id"] for e in listed.json()["results"]] == [str(world.endpoint.public_id)]
    assert "desk" in schema.json()["components"]["schemas"]["Endpoint"]["properties"]
    outputs.finish(caplog.records)


@contextlib.contextmanager
def relay_running(poll_seconds: float = 0.05) -> Iterator[None]:
    """The ``relay`` command's listeners (every configured provider's) on a thread."""
    listeners = configured_listeners(poll_seconds=poll_seconds)
    assert "DeskRelay" in {type(listener).__name__ for listener in listeners}
    loop, stop = asyncio.new_event_loop(), asyncio.Event()
    thread = threading.Thread(
        target=loop.run_until_complete, args=(run_listeners(listeners, stop),)
    )
    thread.start()
    try:
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)
        loop.close()
        assert not thread.is_alive()


def test_a_handover_lives_its_whole_life_on_the_desk(
    world, desk, channel, outputs, broker, caplog, django_capture_on_commit_callbacks
):
    api = Client(HTTP_AUTHORIZATION=f"Api-Key {world.key}")

    def call(method: str, url: str, body: object = None) -> dict:
        response = api.generic(method, url, json.dumps(body) if body else "", "application/json")
        outputs.add("API answer", f"{method} {url}", answer(response))
        broker.run(django_capture_on_commit_callbacks)
        assert response.status_code < 300, response.content
        return response.json() if response.content else {}

    # The channel starts it and writes; the outbox relays everything in order.
    started = call(
        "POST",
        f"/api/v1/endpoints/{world.endpoint.public_id}/handovers/",
        {
            "user_id": "u-1",
            "session_id": "s-1",
            "transcript": [{"from": "user", "text": "A human, please", "at": "2026-01-15T09:30Z"}],
        },
    )
    handover_url = f"/api/v1/handovers/{started['id']}/"
    for text in ("First", "Second", "Third"):
        call("POST", f"{handover_url}messages/", {"text": text, "client_message_id": text})
    call("POST", f"{handover_url}typing/")
    cid = started["id"]  # the desk knows the conversation by the handover's id
    texts = [message["text"] for message in desk.messages(cid)]
    assert texts[1:] == ["First", "Second", "Third"]
    assert "A human, please" in texts[0]
    assert [r["what"] for r in desk.received()][:2] == ["conversation", "messages"]
    assert desk.conversations[cid].typing == 1
    assert call("GET", handover_url)["status"] == "queued"

    # The agent answers on the desk: the relay listener polls it.
    desk.agent_join(cid)
    desk.agent_typing(cid)
    desk.agent_say(cid, "Dana here, how can I help?")
    with relay_running():
        wait_for(
            lambda: HandoverEvent.objects.filter(kind=EventKind.AGENT_MESSAGE).exists(),
            what="the agent's message recorded by the relay listener",
        )
    assert not RelayReplica.objects.exists()  # each listener let go when it stopped
    broker.run(django_capture_on_commit_callbacks)
    assert call("GET", handover_url)["agent_name"] == "Dana Desk"

    # The desk also calls the webhook the registry mounted; a replay is recorded once.
    webhook = reverse("desk_provider:events", args=[world.endpoint.public_id])
    assert webhook.startswith("/desk_provider/")
    event = {"id": "ev-webhook", "type": "agent_message", "agent": "Dana Desk", "text": "Still?"}
    body = json.dumps({"conversation": cid, "event": event}).encode()
    signed = {"HTTP_X_DESK_SIGNATURE": sign_webhook(desk.token, body)}
    done = [Client().post(webhook, body, "application/json", **signed) for _ in range(2)]
    forged = Client().post(webhook, body, "application/json", HTTP_X_DESK_SIGNATURE="sha256=0")
    for response in (*done, forged):
        outputs.add("webhook answer", webhook, answer(response))
    assert [r.json()["done"] for r in done] == ["agent_message", "duplicate"]
    assert forged.status_code == 403
    broker.run(django_capture_on_commit_callbacks)

    # Nobody writes: the expiry warns, ends it and the desk conversation is left.
    later = timezone.now() + timedelta(minutes=21)
    with django_capture_on_commit_callbacks(execute=True):
        report = handovers_expire(now=later)
    broker.run(django_capture_on_commit_callbacks)
    assert (report.warned, report.expired) == (1, 1)
    assert Handover.objects.get(public_id=cid).end_reason == "expired"
    assert desk.state(cid) == "ended"
    assert len(desk.received("POST", "end")) == 1

    # The channel heard it all, signed, in order, once.
    kinds = ["agent_joined", "agent_typing", "agent_message", "agent_message"]
    assert [e["kind"] for e in channel.events()] == [*kinds, "expiry_warning", "ended"]
    assert [e["seq"] for e in channel.events()] == list(range(1, 7))
    for received in channel.received:
        headers = received["headers"]
        assert callbacks.verify(
            world.signing_secret.value,
            headers[callbacks.TIMESTAMP_HEADER],
            received["body"],
            headers[callbacks.SIGNATURE_HEADER],
        )
        outputs.add("callback", "channel", json.dumps(headers).encode() + received["body"])
    polled = call("GET", f"{handover_url}events/?after=0")["events"]
    assert [e["kind"] for e in polled] == [e["kind"] for e in channel.events()]
    assert all(r["headers"]["Authorization"] == f"Bearer {desk.token}" for r in desk.received())
    outputs.finish(caplog.records)


def sign_webhook(secret: str, body: bytes) -> str:
    from tests.desk_provider.webhooks import signature

    return signature(secret, body)
