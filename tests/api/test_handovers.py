"""The runtime API: start, messages, events, end; who may call it; what it refuses."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from endpoints.models import (
    EndReason,
    EventKind,
    Handover,
    HandoverEvent,
    HandoverStatus,
    OutboundMessage,
)
from tests.api.conftest import token_client
from tests.factories import (
    CLIENT_SECRET,
    EndpointFactory,
    GenesysSettingsFactory,
    HandoverEventFactory,
    HandoverFactory,
    OutboundMessageFactory,
    TokenFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

SIGNING_SECRET = "planted-Signing-Secret-4e9a"


def start_url(endpoint) -> str:
    return reverse("api:endpoint-handovers", kwargs={"id": endpoint.public_id})


def handover_url(handover, name: str = "detail") -> str:
    return reverse(f"api:handover-{name}", kwargs={"id": handover.public_id})


@pytest.fixture
def endpoint():
    return GenesysSettingsFactory(
        endpoint__callback_url="https://bot.example.com/cb",
        endpoint__callback_signing_secret=SIGNING_SECRET,
    ).endpoint


def start_body(**overrides: object) -> dict:
    return {
        "user_id": "u-1",
        "session_id": "s-1",
        "profile": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"},
        "custom_fields": {"plan": "gold"},
        "transcript": [
            {"from": "user", "text": "I need a human", "at": "2025-01-15T09:30:00Z"},
            {"from": "bot", "text": "Let me find someone.", "at": "2025-01-15T09:30:02Z"},
        ],
        **overrides,
    }


# --- Starting


def test_start_answers_201_with_the_handover(driver, endpoint, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = driver.post(start_url(endpoint), start_body(), format="json")

    assert response.status_code == 201
    handover = Handover.objects.get()
    body = response.json()
    assert body["id"] == str(handover.public_id)
    assert body["endpoint"] == str(endpoint.public_id)
    assert body["status"] == HandoverStatus.STARTING
    assert (body["user_id"], body["session_id"]) == ("u-1", "s-1")
    assert body["end_reason"] is None
    assert handover.profile["email"] == "ada@example.com"
    assert handover.custom_fields == {"plan": "gold"}
    assert len(callbacks) == 1  # the start task, once committed


def test_start_keeps_the_routing_hints(driver, endpoint):
    body = start_body(language="fr", skills=["billing", "vip"], priority=5)
    response = driver.post(start_url(endpoint), body, format="json")
    assert response.status_code == 201
    handover = Handover.objects.get()
    assert handover.routing == {"language": "fr", "skills": ["billing", "vip"], "priority": 5}


def test_oversize_attributes_are_refused_with_the_limit(driver, endpoint):
    fields = {f"k{n}": "v" * 999 for n in range(9)}
    response = driver.post(start_url(endpoint), start_body(custom_fields=fields), format="json")
    assert response.status_code == 400
    [message] = response.json()["custom_fields"]
    assert "at most 8192" in message


def test_start_is_idempotent_per_open_session(driver, endpoint, django_capture_on_commit_callbacks):
    first = driver.post(start_url(endpoint), start_body(), format="json")
    with django_capture_on_commit_callbacks() as callbacks:
        again = driver.post(start_url(endpoint), start_body(user_id="other"), format="json")

    assert again.status_code == 200
    assert again.json() == first.json()
    assert Handover.objects.count() == 1
    assert callbacks == []


def test_a_session_whose_handover_ended_can_start_again(driver, endpoint):
    HandoverFactory(endpoint=endpoint, session_id="s-1", status=HandoverStatus.ENDED)
    response = driver.post(start_url(endpoint), start_body(), format="json")
    assert response.status_code == 201
    assert Handover.objects.count() == 2


def test_the_transcript_goes_first_in_the_outbox(driver, endpoint):
    handover_id = driver.post(start_url(endpoint), start_body(), format="json").json()["id"]
    handover = Handover.objects.get(public_id=handover_id)
    driver.post(handover_url(handover, "messages"), {"text": "hello?"}, format="json")

    start, *rows = list(handover.outbox.order_by("pk"))
    assert start.kind == OutboundMessage.Kind.START  # the provider's conversation first
    assert [row.kind for row in rows] == [
        OutboundMessage.Kind.TRANSCRIPT,
        OutboundMessage.Kind.MESSAGE,
    ]
    assert "User (09:30): I need a human" in rows[0].text
    assert "Bot (09:30): Let me find someone." in rows[0].text
    assert rows[1].text == "hello?"


def test_start_refused_with_409_when_the_provider_is_none(driver):
    endpoint = EndpointFactory(name="Bot only", handover_provider="none")
    response = driver.post(start_url(endpoint), start_body(), format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": endpoint.handover_refusal()}
    assert "Handover Provider is None" in response.json()["detail"]
    assert not Handover.objects.exists()


def test_start_refused_with_409_when_the_settings_are_incomplete(driver):
    endpoint = EndpointFactory(handover_provider="genesys")  # no Genesys settings stored
    response = driver.post(start_url(endpoint), start_body(), format="json")
    assert response.status_code == 409
    assert "incomplete" in response.json()["detail"]
    assert not Handover.objects.exists()


def test_start_on_an_unknown_endpoint_is_404(driver):
    url = reverse("api:endpoint-handovers", kwargs={"id": "6f1c2d3e-0000-4000-8000-000000000000"})
    assert driver.post(url, start_body(), format="json").status_code == 404


def entry(**overrides: object) -> dict:
    return {"from": "user", "text": "hi", "at": "2025-01-15T09:30:00Z", **overrides}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"user_id": None}, "user_id"),
        ({"user_id": ""}, "user_id"),
        ({"user_id": "x" * 256}, "user_id"),
        ({"user_id": 12345}, "user_id"),
        ({"session_id": "a\x00b"}, "session_id"),
        ({"session_id": "line\nbreak"}, "session_id"),
        ({"profile": {"email": "not an email"}}, "profile"),
        ({"profile": {"first_name": 7}}, "profile"),
        ({"profile": ["Ada"]}, "profile"),
        ({"profile": {f"k{n}": "v" for n in range(51)}}, "profile"),
        ({"custom_fields": {"plan": "x" * 1001}}, "custom_fields"),
        ({"custom_fields": {"plan": {"nested": "no"}}}, "custom_fields"),
        ({"custom_fields": {"a\x00b": "NUL in a key"}}, "custom_fields"),
        ({"custom_fields": {"k" * 101: "key too long"}}, "custom_fields"),
        ({"profile": {"k" * 101: "key too long"}}, "profile"),
        ({"custom_fields": {f"k{n}": "v" * 999 for n in range(9)}}, "custom_fields"),
        ({"language": 7}, "language"),
        ({"language": "x" * 101}, "language"),
        ({"skills": "billing"}, "skills"),
        ({"skills": ["a,b"]}, "skills"),
        ({"skills": [""]}, "skills"),
        ({"skills": [f"s{n}" for n in range(21)]}, "skills"),
        ({"priority": "5"}, "priority"),
        ({"priority": True}, "priority"),
        ({"priority": -1}, "priority"),
        ({"transcript": {"from": "user"}}, "transcript"),
        ({"transcript": [entry()] * 501}, "transcript"),
        ({"transcript": [entry(**{"from": "agent"})]}, "transcript"),
        ({"transcript": [entry(text="")]}, "transcript"),
        ({"transcript": [entry(text="x" * 4001)]}, "transcript"),
        ({"transcript": [entry(at="yesterday")]}, "transcript"),
        ({"transcript": [{"from": "bot", "text": "no time"}]}, "transcript"),
        ({"transcript": [entry(speaker="bot")]}, "transcript"),
        ({"sesion_id": "misspelt"}, "sesion_id"),
    ],
)
def test_invalid_start_is_400_naming_the_field_and_writes_nothing(
    driver, endpoint, overrides, field
):
    body = {key: value for key, value in start_body(**overrides).items() if value is not None}
    response = driver.post(start_url(endpoint), body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not Handover.objects.exists()
    assert not OutboundMessage.objects.exists()


def test_a_body_that_is_not_json_is_400(driver, endpoint):
    response = driver.post(start_url(endpoint), "{", content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_whitespace_in_identifiers_is_kept_as_sent(driver, endpoint):
    response = driver.post(start_url(endpoint), start_body(session_id=" s 1 "), format="json")
    assert response.json()["session_id"] == " s 1 "


# --- Messages


@pytest.fixture
def handover(endpoint):
    return HandoverFactory(endpoint=endpoint)


def test_a_message_is_accepted_with_202(driver, handover, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = driver.post(
            handover_url(handover, "messages"),
            {"text": "  indented\ttext\n", "client_message_id": "m-1"},
            format="json",
        )
    assert response.status_code == 202
    message = OutboundMessage.objects.get()
    assert response.json()["id"] == message.pk
    assert response.json()["client_message_id"] == "m-1"
    assert response.json()["status"] == "pending"
    assert message.text == "  indented\ttext\n"
    assert len(callbacks) == 1  # the outbox sender


def test_the_same_client_message_id_is_accepted_once(driver, handover):
    url = handover_url(handover, "messages")
    first = driver.post(url, {"text": "hi", "client_message_id": "m-1"}, format="json")
    again = driver.post(url, {"text": "hi", "client_message_id": "m-1"}, format="json")
    other = driver.post(url, {"text": "hi", "client_message_id": "m-2"}, format="json")

    assert first.status_code == again.status_code == other.status_code == 202
    assert again.json()["id"] == first.json()["id"] != other.json()["id"]
    assert handover.outbox.count() == 2


def test_messages_without_client_id_are_each_accepted(driver, handover):
    url = handover_url(handover, "messages")
    driver.post(url, {"text": "hi"}, format="json")
    driver.post(url, {"text": "hi"}, format="json")
    assert handover.outbox.count() == 2


def test_a_message_to_an_ended_handover_is_409(driver, handover):
    url = handover_url(handover, "messages")
    driver.post(url, {"text": "hi", "client_message_id": "m-1"}, format="json")
    driver.delete(handover_url(handover))

    response = driver.post(url, {"text": "still there?"}, format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": "The handover has ended (user ended)."}
    # A retry of a message accepted before the end is still the same message.
    retry = driver.post(url, {"text": "hi", "client_message_id": "m-1"}, format="json")
    assert retry.status_code == 202
    assert handover.outbox.filter(kind=OutboundMessage.Kind.MESSAGE).count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"text": ""},
        {"text": "x" * 4001},
        {"text": 42},
        {"text": "bell\x07"},
        {"text": "hi", "client_message_id": "x" * 256},
        {"text": "hi", "client_message_id": "tab\tid"},
        {"text": "hi", "client_msg_id": "misspelt"},
    ],
)
def test_an_invalid_message_is_400_and_writes_nothing(driver, handover, body):
    response = driver.post(handover_url(handover, "messages"), body, format="json")
    assert response.status_code == 400
    assert not OutboundMessage.objects.exists()


def test_a_message_to_an_unknown_handover_is_404(driver):
    url = reverse("api:handover-messages", kwargs={"id": "6f1c2d3e-0000-4000-8000-000000000000"})
    assert driver.post(url, {"text": "hi"}, format="json").status_code == 404


# --- Events


def test_events_come_in_order_with_their_sequence_numbers(driver, handover):
    HandoverEventFactory(handover=handover, kind=EventKind.AGENT_JOINED, data={"agent_name": "Al"})
    HandoverEventFactory(handover=handover, data={"text": "Hello"})
    HandoverEventFactory(handover=handover, kind=EventKind.AGENT_TYPING, data={})

    response = driver.get(handover_url(handover, "events"))

    assert response.status_code == 200
    body = response.json()
    assert [(event["seq"], event["kind"]) for event in body["events"]] == [
        (1, "agent_joined"),
        (2, "agent_message"),
        (3, "agent_typing"),
    ]
    assert body["events"][0]["data"] == {"agent_name": "Al"}
    assert set(body["events"][0]) == {"seq", "kind", "data", "at"}
    assert body["next_cursor"] == 3


def test_polling_with_the_cursor_sees_every_event_exactly_once(driver, handover):
    url = handover_url(handover, "events")
    seen: list[int] = []
    cursor = 0
    for batch in (2, 0, 3, 1):
        for _ in range(batch):
            HandoverEventFactory(handover=handover)
        body = driver.get(url, {"after": cursor, "limit": 2}).json()
        while body["events"]:
            seen += [event["seq"] for event in body["events"]]
            cursor = body["next_cursor"]
            body = driver.get(url, {"after": cursor, "limit": 2}).json()
        assert body["next_cursor"] == cursor
    assert seen == [1, 2, 3, 4, 5, 6]


def test_events_include_the_end_with_its_reason(driver, handover):
    driver.delete(handover_url(handover))
    events = driver.get(handover_url(handover, "events")).json()["events"]
    assert [(event["kind"], event["data"]) for event in events] == [
        ("ended", {"reason": "user_ended"})
    ]


@pytest.mark.parametrize(
    "query",
    [
        {"after": "-1"},
        {"after": "abc"},
        {"after": "2147483648"},
        {"after": ""},
        {"limit": "0"},
        {"limit": "501"},
    ],
)
def test_an_invalid_cursor_or_limit_is_400(driver, handover, query):
    response = driver.get(handover_url(handover, "events"), query)
    assert response.status_code == 400
    assert list(response.json()) == list(query)


def test_polling_events_costs_the_same_queries_for_1_or_30_events(driver, handover):
    url = handover_url(handover, "events")
    HandoverEventFactory(handover=handover)
    driver.get(url)  # warm the content types cache
    with CaptureQueriesContext(connection) as one:
        driver.get(url)
    for _ in range(29):
        HandoverEventFactory(handover=handover)
    with CaptureQueriesContext(connection) as thirty:
        assert len(driver.get(url).json()["events"]) == 30
    assert len(thirty) == len(one)


# --- Retrieve and end


def test_retrieve_shows_the_handover(driver, handover):
    response = driver.get(handover_url(handover))
    assert response.status_code == 200
    assert set(response.json()) == {
        "id",
        "endpoint",
        "status",
        "user_id",
        "session_id",
        "agent_name",
        "started_at",
        "last_activity_at",
        "expires_at",
        "ended_at",
        "end_reason",
    }
    assert response.json()["status"] == "queued"


def test_delete_ends_the_handover_as_the_user(driver, handover, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = driver.delete(handover_url(handover))

    assert response.status_code == 200
    assert response.json()["status"] == "ended"
    assert response.json()["end_reason"] == "user_ended"
    handover.refresh_from_db()
    assert handover.end_reason == EndReason.USER_ENDED
    assert handover.ended_by is None
    # The provider's conversation is left, and the callback told.
    assert len(callbacks) == 2


def test_a_second_delete_is_200_and_changes_nothing(driver, handover):
    first = driver.delete(handover_url(handover)).json()
    again = driver.delete(handover_url(handover))
    assert again.status_code == 200
    assert again.json() == first
    assert HandoverEvent.objects.filter(kind=EventKind.ENDED).count() == 1


def test_delete_after_the_agent_left_keeps_the_agents_reason(driver, handover):
    driver.delete(handover_url(handover))
    Handover.objects.filter(pk=handover.pk).update(end_reason=EndReason.AGENT_LEFT)
    assert driver.delete(handover_url(handover)).json()["end_reason"] == "agent_left"


# --- Who may call it


@pytest.fixture
def calls(handover) -> list[tuple[str, str, dict]]:
    return [
        ("post", start_url(handover.endpoint), start_body()),
        ("get", handover_url(handover), {}),
        ("delete", handover_url(handover), {}),
        ("post", handover_url(handover, "messages"), {"text": "hi"}),
        ("get", handover_url(handover, "events"), {}),
    ]


def call(client, method: str, url: str, body: dict):
    if method == "get":
        return client.get(url, body)
    return getattr(client, method)(url, body, format="json")


def test_anonymous_gets_401(anonymous, calls):
    for method, url, body in calls:
        response = call(anonymous, method, url, body)
        assert response.status_code == 401, url
        assert response["WWW-Authenticate"] == "Api-Key"


def test_a_configuration_token_gets_403_and_changes_nothing(api, calls, handover):
    for method, url, body in calls:
        response = call(api, method, url, body)
        assert response.status_code == 403, url
        assert "Can start and drive handovers" in response.json()["detail"]
    handover.refresh_from_db()
    assert handover.status == HandoverStatus.QUEUED
    assert Handover.objects.count() == 1
    assert not OutboundMessage.objects.exists()


def test_a_driving_token_cannot_read_configuration(driver):
    assert driver.get(reverse("api:endpoint-list")).status_code == 403


def test_a_superuser_may_drive(calls):
    client = token_client(TokenFactory(user=UserFactory(is_superuser=True)))
    method, url, body = calls[0]
    assert call(client, method, url, body).status_code == 201


def test_no_secret_in_any_answer(driver, calls):
    OutboundMessageFactory(handover=Handover.objects.get())
    for method, url, body in calls:
        response = call(driver, method, url, body)
        assert SIGNING_SECRET.encode() not in response.content
        assert CLIENT_SECRET.encode() not in response.content


def with_rates(**rates: str) -> override_settings:
    current = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    return override_settings(
        REST_FRAMEWORK={
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**current, **rates},
        }
    )


def test_the_runtime_api_has_its_own_throttle_budget(handover):
    user = UserFactory(perms=["endpoints.drive_handover"], view=["endpoints.endpoint"])
    client = token_client(TokenFactory(user=user))
    url = handover_url(handover)
    with with_rates(handover="2/min", user="1/min"):
        statuses = [client.get(url).status_code for _ in range(3)]
        assert client.get(reverse("api:endpoint-list")).status_code == 200
    assert statuses == [200, 200, 429]


def test_the_handover_rate_comes_from_its_setting():
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    assert rates["handover"] == settings.API_HANDOVER_THROTTLE_RATE == "6000/min"


# Attachments (by URL)

PNG = {"url": "https://files.example.com/receipt.png", "mime": "image/png", "filename": "r.png"}


@pytest.fixture
def om_handover_for_api(endpoint):
    from tests.factories import OpenMessagingSettingsFactory

    om_settings = OpenMessagingSettingsFactory(endpoint=endpoint)
    endpoint.handover_provider = "genesys_om"
    endpoint.save()
    return HandoverFactory(endpoint=om_settings.endpoint, provider="genesys_om")


def test_attachments_go_with_or_without_text_where_the_provider_takes_them(
    driver, om_handover_for_api
):
    url = handover_url(om_handover_for_api, "messages")
    alone = driver.post(url, {"attachments": [PNG]}, format="json")
    both = driver.post(url, {"text": "my receipt", "attachments": [PNG]}, format="json")
    assert (alone.status_code, both.status_code) == (202, 202), alone.content
    stored = [message.data for message in om_handover_for_api.outbox.order_by("pk")]
    assert stored == [{"attachments": [{**PNG, "mime": "image/png"}]}] * 2


@pytest.mark.parametrize(
    ("attachment", "field", "says"),
    [
        ({**PNG, "mime": "application/x-msdownload"}, "mime", "is not a type this provider takes"),
        ({**PNG, "size": 26 * 1024 * 1024}, "size", "larger than this provider takes"),
        ({**PNG, "url": "ftp://files.example.com/r.png"}, "url", "http or https"),
        ({**PNG, "url": "not a url"}, "url", "valid URL"),
        ({"mime": "image/png"}, "url", "required"),
    ],
)
def test_an_attachment_the_provider_cannot_take_is_400_saying_why(
    driver, om_handover_for_api, attachment, field, says
):
    url = handover_url(om_handover_for_api, "messages")
    response = driver.post(url, {"attachments": [attachment]}, format="json")
    assert response.status_code == 400
    assert says in json.dumps(response.json()), response.json()
    assert field in json.dumps(response.json())
    assert not OutboundMessage.objects.exists()


def test_web_chat_refuses_attachments_and_says_to_send_a_link(driver, handover):
    response = driver.post(
        handover_url(handover, "messages"), {"text": "see", "attachments": [PNG]}, format="json"
    )
    assert response.status_code == 400
    assert "cannot carry attachments: send a link in the text" in json.dumps(response.json())
    assert not OutboundMessage.objects.exists()


def test_a_message_with_neither_text_nor_attachments_is_400(driver, om_handover_for_api):
    url = handover_url(om_handover_for_api, "messages")
    response = driver.post(url, {"text": "", "attachments": []}, format="json")
    assert response.status_code == 400
    assert "Give the message a text, attachments, or both." in json.dumps(response.json())
