"""Planted canaries: five secrets, each found zero times in anything the portal puts out.

A unique client secret, Open Messaging webhook secret, callback signing secret, channel API
key and DRF token are planted where the portal keeps them. Then the portal is driven as its
users drive it: every admin page of every registered model (as a superuser and as a
view-only staff user, forms posted with errors), every API operation of the schema with
each credential (errors too), two handovers end to end, and crashes (the DEBUG page, the
error report text, the admins' e-mail). Every output is searched for each canary, in the
raw bytes and in the encodings a secret could travel in (``tests.canaries``): responses
(headers and body), log records at DEBUG and what the configured handler writes, raw
broker messages, callbacks, e-mails. What the Genesys sandbox receives is not an output:
it gets the client secret, in the token request's ``Authorization`` header only.
"""

from __future__ import annotations

import base64
import json
import logging
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.core.cache import cache
from django.core.signals import got_request_exception
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path, reverse
from django.utils import timezone
from django.utils.log import AdminEmailHandler
from django.views.debug import get_exception_reporter_class
from rest_framework.authtoken.models import Token

from endpoints.handovers import callbacks
from endpoints.models import Endpoint, Handover, RelayReplica
from genesys.models import OAuth2Connection, OpenMessagingInbox, OpenMessagingSettings
from genesys.open_messaging.client import signature
from genesys.platform import tokens
from handover_portal import urls
from handover_portal.celery import app as celery_app
from tests.admin_forms import endpoint_form, genesys_fields, om_fields
from tests.api.test_authorization_matrix import BODIES, METHODS, schema_operations
from tests.canaries import Canary, MemoryBroker, Outputs, random_text
from tests.conftest import CLIENT_ID
from tests.factories import (
    ChannelFactory,
    EndpointFactory,
    GenesysSettingsFactory,
    HandoverEventFactory,
    HandoverFactory,
    OAuth2ConnectionFactory,
    OpenMessagingSettingsFactory,
    OutboundMessageFactory,
    UserFactory,
    issue_key,
)

pytestmark = pytest.mark.django_db

PASSWORD = "canary-staff-password-for-tests"
CONNECTION_NAME = "Canary OAuth client"
WEBCHAT_NAME = "Canary web chat"
OM_NAME = "Canary messaging"


# --- The planted world -------------------------------------------------------------------


@dataclass
class World:
    canaries: dict[str, Canary]
    key: str  # the channel's whole API key, as its holder sends it
    token: Token
    connection: OAuth2Connection
    webchat: Endpoint
    om: Endpoint
    plain: Endpoint
    handover: Handover
    superuser: Any
    viewer: Any
    objects: dict[str, Any] = field(default_factory=dict)

    def outputs(self) -> Outputs:
        return Outputs(list(self.canaries.values()))


@pytest.fixture
def world(genesys: Any, channel: Any, settings: Any) -> World:
    """The five canaries planted, on endpoints of each provider that call the sandbox and
    push callbacks to ``channel``; a row of every model the admin shows."""
    settings.RELAY_BACKOFF_SECONDS = 0.01
    settings.RELAY_BACKOFF_MAX_SECONDS = 0.01
    settings.CALLBACK_BACKOFF_SECONDS = 0.01
    settings.AXES_ENABLE_ACCESS_FAILURE_LOG = True  # its admin pages, with a row
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "1000000/min", "handover": "1000000/min"},
    }
    client_secret = Canary.planted("client secret", escaped=True)
    webhook_secret = Canary.planted("webhook secret", escaped=True)
    signing_secret = Canary.planted("callback signing secret", escaped=True)
    token_canary = Canary.planted("DRF token", 40)
    genesys.put_client(CLIENT_ID, client_secret=client_secret.value)

    connection = OAuth2ConnectionFactory(
        name=CONNECTION_NAME, client_id=CLIENT_ID, client_secret=client_secret.value
    )
    callback = {
        "endpoint__callback_url": channel.url,
        "endpoint__callback_signing_secret": signing_secret.value,
    }
    webchat = GenesysSettingsFactory(
        endpoint__name=WEBCHAT_NAME,
        organization_id=genesys.organization_id,
        deployment_id=genesys.deployment_id,
        queue_id=genesys.queue_id,
        queue_name=genesys.queue_name,
        node_authentication=connection,
        **callback,
    ).endpoint
    om = OpenMessagingSettingsFactory(
        endpoint__name=OM_NAME,
        integration_id=genesys.open_integration_id,
        queue_id=genesys.queue_id,
        queue_name=genesys.queue_name,
        node_authentication=connection,
        webhook_secret=webhook_secret.value,
        **callback,
    ).endpoint
    plain = EndpointFactory(name="Canary without a provider")
    channel_row = ChannelFactory(name="Canary channel", endpoints=[webchat, om, plain])
    api_key, key = issue_key(channel_row)
    api_key_canary = Canary("channel API key", key.partition(".")[2])

    superuser = UserFactory(username="canary-admin", is_staff=True, is_superuser=True)
    viewer = UserFactory(username="canary-viewer", is_staff=True)
    viewer.user_permissions.set(
        Permission.objects.filter(
            codename__in=[f"view_{model._meta.model_name}" for model in admin.site._registry]
        )
    )
    tooling = UserFactory(
        username="canary-tooling",
        perms=["endpoints.drive_handover"],
        view=["endpoints.endpoint", "genesys.oauth2connection"],
    )
    for user in (superuser, viewer, tooling):
        user.set_password(PASSWORD)
        user.save()
    token = Token.objects.create(user=tooling, key=token_canary.value)

    handover = HandoverFactory(endpoint=webchat, status="active", agent_name="Alex Agent")
    HandoverEventFactory(handover=handover)
    OutboundMessageFactory(handover=handover, last_error="GenesysUnavailable: try again")
    RelayReplica.objects.create(token=random_text(32), providers="genesys", hostname="relay")
    OpenMessagingInbox.objects.create(  # a dead letter: the worker skips it
        settings=om.genesys_om_settings,
        payload={"id": "m-0", "type": "Text"},
        attempts=5,
        last_error="KeyError: 'channel'",
        dead_at=timezone.now(),
    )
    Group.objects.get_or_create(name="Canary reviewers")
    return World(
        canaries={
            c.kind: c
            for c in (client_secret, webhook_secret, signing_secret, api_key_canary, token_canary)
        },
        key=key,
        token=token,
        connection=connection,
        webchat=webchat,
        om=om,
        plain=plain,
        handover=handover,
        superuser=superuser,
        viewer=viewer,
        objects={"channel": channel_row, "api_key": api_key},
    )


@pytest.fixture
def outputs(world: World, caplog: pytest.LogCaptureFixture) -> Iterator[Outputs]:
    """The canaries' search; what is logged meanwhile (DEBUG and up) is searched too, by
    ``finish``."""
    caplog.set_level(logging.DEBUG)
    found = world.outputs()
    with found.logs.capturing():
        yield found


def answer(response: Any) -> bytes:
    """A response as it goes on the wire: status, headers, cookies and body."""
    cookies = response.cookies.output().encode() if response.cookies else b""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return f"{response.status_code}\n".encode() + response.serialize_headers() + cookies + body


def logged_in(username: str) -> Client:
    """A browser logged in through the admin's login form (axes records it)."""
    client = Client()
    response = client.post(
        reverse("admin:login"), {"username": username, "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    return client


def test_the_search_finds_a_canary_in_every_form() -> None:
    canary = Canary.planted("client secret", escaped=True)
    for form, needle in canary.needles():
        found = canary_outputs(canary, b"before " + needle + b" after")
        assert len(found.leaks) >= 1, form
    # Inside a longer base64 text, whatever its alignment: HTTP Basic, URL-safe.
    for prefix in ("", "i", "id", "id:"):
        encoded = base64.b64encode(f"{prefix}{canary.value}".encode())
        for text in (encoded, encoded.replace(b"+", b"-").replace(b"/", b"_")):
            assert canary_outputs(canary, b"Authorization: Basic " + text).leaks, prefix
    canary_outputs(canary, "nothing secret here").assert_clean()


def canary_outputs(canary: Canary, data: bytes | str) -> Outputs:
    found = Outputs([canary])
    found.add("text", "a test", data)
    return found


# --- The admin -----------------------------------------------------------------------------


def admin_pages(client: Client, model: type) -> Iterator[str]:
    """Every page of ``model``: its changelist, add, and the change, history and delete
    pages of every object it lists (by the links the changelist has)."""
    info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    changelist = reverse(f"{info}_changelist")
    yield changelist
    yield reverse(f"{info}_add")
    response = client.get(changelist)
    if response.status_code != 200:
        return
    for result in response.context["cl"].result_list:
        change = response.context["cl"].url_for_result(result)
        yield change
        yield change.replace("/change/", "/history/")
        yield change.replace("/change/", "/delete/")


def admin_forms(world: World, genesys: Any) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """What is expected ("errors": the form again, "saved", "shown"), URL and data of the
    POSTs of an administrator: forms with every secret typed in, invalid (they render
    again) and valid, Test connection, actions and their confirmation pages."""
    secrets = {kind: canary.value for kind, canary in world.canaries.items()}
    connection = world.connection
    connection_add = reverse("admin:genesys_oauth2connection_add")
    connection_change = reverse("admin:genesys_oauth2connection_change", args=[connection.pk])
    connection_form = {
        "name": CONNECTION_NAME,
        "oauth_url": connection.oauth_url,
        "client_id": CLIENT_ID,
        "client_secret": secrets["client secret"],
        "scope": "",
    }
    yield "errors", connection_add, {**connection_form, "name": "Another", "oauth_url": "no"}
    yield "errors", connection_change, {**connection_form, "client_id": ""}
    yield "saved", connection_change, connection_form  # in the history from now on
    om_settings = world.om.genesys_om_settings
    om_data = endpoint_form(
        world.om,
        handover_provider="genesys_om",
        name=OM_NAME,
        callback_url=world.om.callback_url,
        callback_signing_secret=secrets["callback signing secret"],
        om=om_fields(
            node_authentication=str(connection.pk),
            integration_id=str(om_settings.integration_id),
            queue_id=str(om_settings.queue_id),
            webhook_secret=secrets["webhook secret"],
        ),
    )
    om_change = reverse("admin:endpoints_endpoint_change", args=[world.om.pk])
    yield "errors", om_change, {**om_data, "genesys_om_settings-0-queue_id": "not-a-uuid"}
    yield "errors", om_change, {**om_data, "genesys_om_settings-0-webhook_secret": "short"}
    yield "saved", om_change, om_data
    webchat_data = endpoint_form(
        world.webchat,
        name=WEBCHAT_NAME,
        callback_url=world.webchat.callback_url,
        callback_signing_secret=secrets["callback signing secret"],
        genesys=genesys_fields(
            node_authentication=str(connection.pk),
            organization_id=genesys.organization_id,
            deployment_id=genesys.deployment_id,
            queue_id=genesys.queue_id,
            queue_name=genesys.queue_name,
        ),
    )
    webchat_change = reverse("admin:endpoints_endpoint_change", args=[world.webchat.pk])
    yield "errors", webchat_change, {**webchat_data, "callback_url": "ftp://nowhere"}
    yield "saved", webchat_change, webchat_data
    new_endpoint = endpoint_form(
        handover_provider="genesys_om",
        callback_url="http://127.0.0.1/hook",
        callback_signing_secret=secrets["callback signing secret"],
        om=om_fields(node_authentication="", webhook_secret=secrets["webhook secret"]),
    )
    yield "errors", reverse("admin:endpoints_endpoint_add"), {**new_endpoint, "name": ""}
    for endpoint in (world.webchat, world.om, world.plain):
        url = reverse("admin:endpoints_endpoint_test_connection", args=[endpoint.pk])
        yield "saved", url, {}
    url = reverse("admin:genesys_oauth2connection_test_connection", args=[connection.pk])
    yield "saved", url, {}
    selected = {"_selected_action": [world.webchat.pk, world.om.pk]}
    url = reverse("admin:endpoints_endpoint_changelist")
    yield "saved", url, {"action": "test_connection", **selected}
    key = {"channel": world.objects["channel"].pk, "name": "Another key"}
    yield "shown", reverse("admin:endpoints_channelapikey_add"), key  # the new key, once
    for model, model_admin in admin.site._registry.items():
        if "delete_selected" in model_admin.get_actions(_request(world.superuser)):
            ids = list(model._default_manager.values_list("pk", flat=True)[:5])
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
            yield "shown", url, {"action": "delete_selected", "_selected_action": ids}


def _request(user: Any) -> HttpRequest:
    request = HttpRequest()
    request.user = user
    return request


def test_no_admin_page_shows_a_canary(
    world: World, genesys: Any, outputs: Outputs, caplog: pytest.LogCaptureFixture
) -> None:
    # A failed login first, with a canary pasted as the password (axes records attempts).
    client = Client()
    client.post(
        reverse("admin:login"),
        {"username": "canary-nobody", "password": world.canaries["client secret"].value},
    )
    superuser, viewer = logged_in("canary-admin"), logged_in("canary-viewer")
    for model in admin.site._registry:
        assert model._default_manager.exists(), f"plant a {model._meta.label} to see its pages"

    for expected, url, data in admin_forms(world, genesys):
        response = superuser.post(url, data, follow=True)
        assert response.status_code == 200, (url, response.status_code)
        shown = {"errors": b"errornote" in response.content, "saved": bool(response.redirect_chain)}
        assert shown.get(expected, True), (expected, url, response.content.decode()[-3000:])
        outputs.add("admin page", f"POST {url} ({expected})", answer(response))
        for hop, _status in response.redirect_chain:
            outputs.add("admin redirect", hop, hop)
    # A Genesys that refuses the secret: Test connection says so.
    genesys.put_client(CLIENT_ID, client_secret="another-secret-entirely")
    cache.clear()
    url = reverse("admin:genesys_oauth2connection_test_connection", args=[world.connection.pk])
    outputs.add("admin page", f"POST {url} (refused)", answer(superuser.post(url, follow=True)))

    pages = [("superuser", superuser), ("viewer", viewer)]
    statuses = []
    for who, client in pages:
        for url in (reverse("admin:index"), *app_indexes()):
            outputs.add("admin page", f"{who} GET {url}", answer(client.get(url)))
        for model in admin.site._registry:
            for url in admin_pages(client, model):
                response = client.get(url)
                statuses.append(response.status_code)
                outputs.add("admin page", f"{who} GET {url}", answer(response))
        for url in autocompletes():
            outputs.add("admin page", f"{who} GET {url}", answer(client.get(url)))
        # Posting a change: refused to the viewer, a form with errors for the superuser.
        url = reverse("admin:genesys_oauth2connection_change", args=[world.connection.pk])
        response = client.post(url, {"client_secret": world.canaries["client secret"].value})
        outputs.add("admin page", f"{who} POST {url}", answer(response))
    assert statuses.count(200) > len(admin.site._registry) * 4  # pages were really shown
    outputs.finish(caplog.records)


def app_indexes() -> list[str]:
    labels = sorted({model._meta.app_label for model in admin.site._registry})
    return [reverse("admin:app_list", args=[label]) for label in labels]


def autocompletes() -> list[str]:
    url = reverse("admin:autocomplete")
    return [f"{url}?app_label=endpoints&model_name=channel&field_name=endpoints&term=Canary"]


# --- The API -------------------------------------------------------------------------------


def api_clients(world: World) -> dict[str, Client]:
    """Every credential, right and wrong."""
    prefix = world.key.partition(".")[0]
    headers = {
        "anonymous": None,
        "API key": f"Api-Key {world.key}",
        "DRF token": f"Token {world.token.key}",
        "wrong secret of the key": f"Api-Key {prefix}.{random_text(32)}",
        "unknown key": f"Api-Key {random_text(8)}.{random_text(32)}",
        "wrong token": f"Token {random_text(40)}",
        "malformed": f"Api-Key {world.key}\x00",
    }
    clients = {}
    for name, header in headers.items():
        clients[name] = Client(HTTP_AUTHORIZATION=header) if header else Client()
    session = Client()
    session.force_login(world.superuser)
    clients["admin session"] = session
    return clients


def api_targets(world: World) -> dict[str, list[str]]:
    """What a path's ``{id}`` is, by its first segment: real objects and a missing one."""
    return {
        "endpoints": [
            str(world.webchat.public_id),
            str(world.om.public_id),
            str(world.plain.public_id),
            str(uuid.uuid4()),
        ],
        "handovers": [str(world.handover.public_id), str(uuid.uuid4())],
        "oauth2-connections": [str(world.connection.pk), "999999"],
    }


#: A body that fails validation, and one that is not JSON at all.
BAD_BODIES = ['{"user_id": 5, "text": ["x"], "transcript": "no"}', '{"truncated": ']


def api_requests(world: World) -> Iterator[tuple[str, str, str | None]]:
    """Method, URL and body of every operation of the schema, on every target, with every
    method (the undocumented ones must refuse), OPTIONS and HEAD too; POSTs also with bad
    bodies."""
    targets = api_targets(world)
    for template, _methods in schema_operations().items():
        kind = template.split("/")[3]
        urls_ = [template.replace("{id}", target) for target in targets[kind]]
        if "{id}" not in template:
            urls_ = [template]
        for url in urls_:
            for method in (*METHODS, "OPTIONS", "HEAD"):
                body = BODIES.get(template, {}) if method in ("POST", "PUT", "PATCH") else None
                yield method, url, None if body is None else json.dumps(body)
            for bad in BAD_BODIES:
                yield "POST", url, bad
    for name in ("api-schema", "api-docs", "api-redoc"):
        yield "GET", reverse(name), None
    yield "GET", "/api/v1/nothing-here/", None


def webhook_requests(world: World) -> Iterator[tuple[str, str, bytes, dict[str, str]]]:
    """Genesys's calls to the Open Messaging webhooks: signed, unsigned, missigned, bad."""
    om_settings = world.om.genesys_om_settings
    secret = world.canaries["webhook secret"].value
    body = json.dumps({"id": "m-1", "type": "Text", "text": "Hi", "channel": {}}).encode()
    for url in (om_settings.webhook_path(), om_settings.end_webhook_path()):
        yield "POST", url, body, {"HTTP_X_HUB_SIGNATURE_256": signature(secret, body)}
        yield "POST", url, body, {}
        yield "POST", url, body, {"HTTP_X_HUB_SIGNATURE_256": signature("not-the-secret!!", body)}
        yield "POST", url, b"[1]", {"HTTP_X_HUB_SIGNATURE_256": signature(secret, b"[1]")}
        yield "POST", url, b"{nope", {"HTTP_X_HUB_SIGNATURE_256": signature(secret, b"{nope")}
        yield "GET", url, b"", {}
    end = b'{"conversationId": "unknown"}'
    yield (
        "POST",
        om_settings.end_webhook_path(),
        end,
        {"HTTP_X_HUB_SIGNATURE_256": signature(secret, end)},
    )
    yield "POST", "/genesys/open-messaging/unknown-token/webhook/", body, {}


def test_no_api_answer_shows_a_canary(
    world: World, outputs: Outputs, caplog: pytest.LogCaptureFixture
) -> None:
    clients = api_clients(world)
    statuses: set[int] = set()
    answered: set[str] = set()  # the credentials that got a 2xx
    for method, url, body in api_requests(world):
        for name, client in clients.items():
            accepts = ["application/json"]
            if method in ("GET", "OPTIONS") and name in ("admin session", "API key"):
                accepts.append("text/html")  # the browsable API's forms
            for accept in accepts:
                with transaction.atomic():  # each request's effects are rolled back
                    response = client.generic(
                        method, url, body or "", "application/json", HTTP_ACCEPT=accept
                    )
                    transaction.set_rollback(True)
                statuses.add(response.status_code)
                if 200 <= response.status_code < 300:
                    answered.add(name)
                outputs.add("API answer", f"{name} {method} {url} ({accept})", answer(response))
    webhook = Client()
    for method, url, body, headers in webhook_requests(world):
        with transaction.atomic():
            response = webhook.generic(method, url, body, "application/json", **headers)
            transaction.set_rollback(True)
        statuses.add(response.status_code)
        outputs.add("webhook answer", f"{method} {url}", answer(response))
    assert {200, 201, 202, 400, 401, 403, 404, 405, 409} <= statuses
    assert answered == {"API key", "DRF token", "admin session"}
    outputs.finish(caplog.records)


# --- A handover, end to end: the broker, the callbacks, Genesys ----------------------------


def om_webhook(to_id: str, message_id: str, **fields: Any) -> bytes:
    """An Outbound Notification Webhook body, as Genesys sends one."""
    payload = {
        "id": message_id,
        "channel": {
            "platform": "Open",
            "type": "Private",
            "to": {"id": to_id},
            "from": {"id": "agent-1", "idType": "Opaque", "nickname": "Alex Agent"},
            "time": "2026-01-15T09:30:00.000Z",
            "messageId": message_id,
        },
        "direction": "Outbound",
        **fields,
    }
    return json.dumps(payload).encode()


def test_a_handover_publishes_no_canary(
    world: World,
    genesys: Any,
    channel: Any,
    outputs: Outputs,
    caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: Any,
) -> None:
    broker = MemoryBroker(celery_app, outputs)
    broker.purge()
    api = Client(HTTP_AUTHORIZATION=f"Api-Key {world.key}")
    tooling = Client(HTTP_AUTHORIZATION=f"Token {world.token.key}")
    staff = Client()
    staff.force_login(world.superuser)

    def call(client: Client, method: str, url: str, body: Any = None, **extra: Any) -> Any:
        data = body if isinstance(body, bytes) else json.dumps(body) if body else ""
        with django_capture_on_commit_callbacks(execute=True):
            response = client.generic(method, url, data, "application/json", **extra)
        outputs.add("API answer", f"{method} {url}", answer(response))
        broker.run(django_capture_on_commit_callbacks)
        return response

    start = {
        "user_id": "u-1",
        "session_id": "s-1",
        "profile": {"first_name": "Ada"},
        "transcript": [{"from": "user", "text": "I need a human", "at": "2026-01-15T09:30:00Z"}],
    }
    for endpoint, client in ((world.webchat, api), (world.om, tooling)):
        started = call(client, "POST", f"/api/v1/endpoints/{endpoint.public_id}/handovers/", start)
        assert started.status_code == 201, started.content
        handover = f"/api/v1/handovers/{started.json()['id']}/"
        for text in ("Hello?", "Anyone there?"):
            assert call(client, "POST", f"{handover}messages/", {"text": text}).status_code == 202
        assert call(client, "POST", f"{handover}typing/").status_code == 202
        call(client, "GET", f"{handover}events/?after=0")

    # Open Messaging: the agent joins, types and answers through the webhook (as Genesys
    # would call it); the worker records it, the callbacks push it to the channel.
    om_handover = Handover.objects.get(endpoint=world.om, session_id="s-1")
    om_settings = world.om.genesys_om_settings
    to_id = om_handover.genesys_om.from_id
    secret = world.canaries["webhook secret"].value
    conversation_id = om_handover.genesys_om.conversation_id
    assert conversation_id, "the first message creates the Genesys conversation"
    for body in (
        om_webhook(to_id, "e-1", type="Event", events=[{"eventType": "Typing"}]),
        om_webhook(to_id, "m-1", type="Text", text="Alex here, how can I help?"),
    ):
        header = {"HTTP_X_HUB_SIGNATURE_256": signature(secret, body)}
        assert call(Client(), "POST", om_settings.webhook_path(), body, **header).status_code == 200
    # The dead letter replayed from the admin: handed to the worker again.
    call(
        staff,
        "POST",
        reverse("admin:genesys_openmessaginginbox_changelist"),
        f"action=replay&_selected_action={OpenMessagingInbox.objects.first().pk}".encode(),
        CONTENT_TYPE="application/x-www-form-urlencoded",
    )
    end = json.dumps({"conversationId": conversation_id}).encode()
    header = {"HTTP_X_HUB_SIGNATURE_256": signature(secret, end)}
    assert call(Client(), "POST", om_settings.end_webhook_path(), end, **header).json() == {
        "ended": True
    }
    # Web chat: the channel ends its handover; staff end another in the admin.
    webchat_handover = Handover.objects.get(endpoint=world.webchat, session_id="s-1")
    assert webchat_handover.genesys_webchat.conversation_id, "started in Genesys"
    deleted = call(api, "DELETE", f"/api/v1/handovers/{webchat_handover.public_id}/")
    assert deleted.status_code == 200
    starts = f"/api/v1/endpoints/{world.webchat.public_id}/handovers/"
    second = call(api, "POST", starts, {**start, "session_id": "s-2"})
    ended = Handover.objects.get(public_id=second.json()["id"])
    end_url = reverse("admin:endpoints_handover_end", args=[ended.pk])
    call(staff, "POST", end_url, b"", CONTENT_TYPE="application/x-www-form-urlencoded")
    # The beat's periodic tasks publish too.
    for name in (
        "endpoints.tasks.relay_sweep_task",
        "endpoints.tasks.handovers_expire_task",
        "genesys.tasks.om_inbox_sweep_task",
    ):
        with django_capture_on_commit_callbacks(execute=True):
            celery_app.tasks[name].apply()
        broker.run(django_capture_on_commit_callbacks)

    published = set(broker.tasks)
    for task in (
        "endpoints.tasks.outbox_send_task",
        "endpoints.tasks.handover_typing_task",
        "endpoints.tasks.callbacks_deliver_task",
        "genesys.tasks.om_webhook_task",
    ):
        assert task in published, f"{task} was never published: {broker.tasks}"
    assert {event["kind"] for event in channel.events()} >= {"agent_message", "ended"}
    for n, received in enumerate(channel.received):
        outputs.add("callback", f"callback #{n}", json.dumps(received["headers"]).encode())
        outputs.add("callback", f"callback #{n}", received["body"])
    check_what_genesys_received(world, genesys)
    outputs.finish(caplog.records)


def check_what_genesys_received(world: World, genesys: Any) -> None:
    """Not an output of ours, but worth knowing: Genesys got the client secret in the
    token request's Authorization header, and no canary anywhere else."""
    received = world.outputs()
    token_requests = 0
    for logged in genesys.requests():
        headers = dict(logged["headers"])
        if logged["path"].endswith("/oauth/token"):
            token_requests += 1
            headers.pop("Authorization", None)
            headers.pop("authorization", None)
        received.add(
            "request to Genesys",
            f"{logged['method']} {logged['path']}",
            {**logged, "headers": headers},
        )
    assert token_requests, "no token was requested: the client secret was never used"
    received.assert_clean()


# --- Crashes: the DEBUG page, the error report, the admins' e-mail -------------------------


def crash_holding_secrets(request: HttpRequest) -> HttpResponse:
    """Fails holding every canary, in locals named as the portal's own code names them."""
    connection = OAuth2Connection.objects.get(name=CONNECTION_NAME)
    auth = tokens.basic_credentials(connection)
    secret = connection.client_secret
    om_settings = OpenMessagingSettings.objects.select_related("endpoint").get(
        endpoint__name=OM_NAME
    )
    webhook_secret = om_settings.webhook_secret
    signing_secret = om_settings.endpoint.callback_signing_secret
    signed = callbacks.sign(signing_secret, "0", b"{}")
    headers = {"Authorization": request.headers.get("Authorization", "")}
    data = {"grant_type": "client_credentials", "client_secret": secret}
    steps = len(auth) + len(webhook_secret) + len(signed) + len(headers) + len(data)
    raise RuntimeError(f"{connection.name}: failed after {steps} steps")


urlpatterns = [path("canary/crash/", crash_holding_secrets), *urls.urlpatterns]
handler400 = urls.handler400
handler403 = urls.handler403
handler404 = urls.handler404
handler500 = urls.handler500


def broken_pool(self: Any, request: Any, **kwargs: Any) -> Any:
    """``HTTPAdapter.send`` of a connection pool that breaks: an error nobody expects,
    deep in a Genesys call."""
    raise RuntimeError("the connection pool is broken")


def crashes(world: World) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """A name, method, URL and request of each crash: the planted view (with each
    credential), a Genesys call failing deep in a real API view and in an admin view, and a
    secret saved while the encryption keys are broken."""
    for credential in (f"Api-Key {world.key}", f"Token {world.token.key}"):
        yield "planted view", "GET", "/canary/crash/", {"HTTP_AUTHORIZATION": credential}
    availability = f"/api/v1/endpoints/{world.webchat.public_id}/agent-availability/"
    yield "broken pool", "GET", availability, {"HTTP_AUTHORIZATION": f"Api-Key {world.key}"}
    url = reverse("admin:genesys_oauth2connection_test_connection", args=[world.connection.pk])
    yield "broken pool (admin)", "POST", url, {"session": True}
    yield (
        "broken keys (admin)",
        "POST",
        reverse("admin:genesys_oauth2connection_add"),
        {
            "session": True,
            "data": {
                "name": "Saved while the keys are broken",
                "oauth_url": world.connection.oauth_url,
                "client_id": CLIENT_ID,
                "client_secret": world.canaries["client secret"].value,
                "scope": "",
            },
        },
    )


@pytest.fixture
def crash(world: World, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run one crash (``crashes``): the response, and what Django's handler caught (the
    request and ``exc_info``, whose traceback starts there: no frame of the test)."""
    settings.ROOT_URLCONF = __name__
    # Settings holding canaries, under names like a secret's and inside a URL.
    settings.GENESYS_CLIENT_SECRET = world.canaries["client secret"].value
    settings.CELERY_BROKER_URL = f"redis://:{world.key.partition('.')[2]}@redis.example:6379/0"
    settings.CALLBACK_SIGNING_SECRETS = {"default": world.canaries["callback signing secret"].value}

    def run(name: str, method: str, url: str, request: dict[str, Any]) -> Any:
        browser = Client(raise_request_exception=False)
        if request.get("session"):
            browser.force_login(world.superuser)
        extra = {k: v for k, v in request.items() if k.startswith("HTTP_")}
        caught: list[tuple[HttpRequest, Any]] = []

        def catch(sender: Any, request: HttpRequest, **kwargs: Any) -> None:
            caught.append((request, sys.exc_info()))

        keys = settings.FIELD_ENCRYPTION_KEYS
        got_request_exception.connect(catch)
        try:
            with monkeypatch.context() as patch:
                if name.startswith("broken pool"):
                    patch.setattr(requests.adapters.HTTPAdapter, "send", broken_pool)
                    cache.clear()  # the token request too, with the client secret in hand
                if name.startswith("broken keys"):
                    settings.FIELD_ENCRYPTION_KEYS = ["not-a-fernet-key"]
                if method == "GET":
                    response = browser.get(url, **extra)
                else:
                    response = browser.post(url, request.get("data", {}), **extra)
        finally:
            got_request_exception.disconnect(catch)
            settings.FIELD_ENCRYPTION_KEYS = keys
            cache.clear()
        assert response.status_code == 500, (name, response.status_code)
        assert len(caught) == 1, f"{name}: {len(caught)} exceptions caught"
        return response, caught[0]

    return run


def test_no_error_report_shows_a_canary(
    world: World, crash: Any, settings: Any, outputs: Outputs, caplog: pytest.LogCaptureFixture
) -> None:
    # DEBUG: Django's technical 500 page.
    settings.DEBUG = True
    for name, method, url, request in crashes(world):
        response, _caught = crash(name, method, url, request)
        assert b"Traceback" in response.content, name  # the technical page
        outputs.add("DEBUG page", f"{name}: {method} {url}", answer(response))
    response = Client().get("/admin/nothing-here/")  # the technical 404 page
    outputs.add("DEBUG page", "404", answer(response))

    # Production: the error report (text and page, with the request and without), the
    # exception itself, and the e-mail to the admins.
    settings.DEBUG = False
    settings.ADMINS = [("Operations", "ops@example.com")]
    mail_admins = AdminEmailHandler(include_html=True)
    logging.getLogger("django.request").addHandler(mail_admins)
    try:
        for name, method, url, request in crashes(world):
            _response, (caught_request, exc_info) = crash(name, method, url, request)
            reporter = get_exception_reporter_class(caught_request)
            for shown_request in (caught_request, None):
                report = reporter(shown_request, *exc_info, is_email=True)
                outputs.add("error report", f"{name}: text", report.get_traceback_text())
                outputs.add("error report", f"{name}: page", report.get_traceback_html())
            error = exc_info[1]
            outputs.add("exception", f"{name}: {type(error).__name__}", repr(error) + str(error))
    finally:
        logging.getLogger("django.request").removeHandler(mail_admins)
    assert len(mail.outbox) == len(list(crashes(world)))
    for message in mail.outbox:
        outputs.add("e-mail", message.subject, message.subject + message.body)
        for content, _type in message.alternatives:
            outputs.add("e-mail", f"{message.subject} (HTML)", content)
        outputs.add("e-mail", f"{message.subject} (as sent)", message.message().as_bytes())
    outputs.finish(caplog.records)
