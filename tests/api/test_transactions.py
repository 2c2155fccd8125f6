"""The API runs outside ``ATOMIC_REQUESTS`` (``endpoints.api.transactions``); the admin
keeps it; every write of the API is atomic in its service: a failure half-way through a
start, a message or an end leaves nothing of it behind."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection, transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from endpoints.handovers import services
from endpoints.models import EventKind, Handover, HandoverEvent, HandoverStatus, OutboundMessage
from tests.api.conftest import key_client
from tests.api.test_handovers import handover_url, start_body, start_url
from tests.factories import (
    ChannelFactory,
    GenesysSettingsFactory,
    HandoverFactory,
    UserFactory,
    issue_key,
)


def views(
    patterns: list[URLPattern | URLResolver] | None = None, prefix: str = ""
) -> Iterator[tuple[str, Callable[..., Any]]]:
    """Every view of the project's URLconf, with its route."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from views(pattern.url_patterns, route)
        else:
            yield route, pattern.callback


def atomic(view: Callable[..., Any]) -> bool:
    return "default" not in getattr(view, "_non_atomic_requests", set())


def test_every_api_view_is_outside_atomic_requests():
    api = {route: view for route, view in views() if route.startswith("api/")}
    assert len(api) > 10
    assert [route for route, view in api.items() if atomic(view)] == []


def test_the_admin_stays_atomic():
    admin = {route: view for route, view in views() if route.startswith("admin/")}
    assert len(admin) > 20
    assert [route for route, view in admin.items() if not atomic(view)] == []


class InTransaction:
    """Notes, for each statement, whether it ran inside a transaction."""

    def __init__(self) -> None:
        self.seen: list[bool] = []

    def __call__(self, execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        self.seen.append(connection.in_atomic_block)
        return execute(sql, *args)


@pytest.mark.django_db(transaction=True)
def test_api_reads_and_writes_open_no_transaction_of_the_request():
    endpoint = GenesysSettingsFactory().endpoint
    client = key_client(issue_key(ChannelFactory(endpoints=[endpoint]))[1])
    handover = HandoverFactory(endpoint=endpoint)
    detail = reverse("api:endpoint-detail", kwargs={"id": endpoint.public_id})

    statements = InTransaction()
    with connection.execute_wrapper(statements):
        assert client.get(detail).status_code == 200
        assert client.get(reverse("api:endpoint-list")).status_code == 200
        assert client.get(handover_url(handover, "events")).status_code == 200
    assert statements.seen
    assert not any(statements.seen)

    # A write: only the service's own transaction, never one around the whole request.
    statements = InTransaction()
    with connection.execute_wrapper(statements):
        response = client.post(handover_url(handover, "messages"), {"text": "hi"}, format="json")
    assert response.status_code == 202
    assert statements.seen[0] is False  # authentication, the lookup: in autocommit


@pytest.mark.django_db(transaction=True)
def test_an_admin_page_still_runs_in_a_transaction(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    statements = InTransaction()
    with connection.execute_wrapper(statements):
        assert client.get(reverse("admin:endpoints_endpoint_changelist")).status_code == 200
    # The session and the user are loaded by middleware, before the view's transaction.
    assert statements.seen[-1] is True


# --- No half-written row when a write fails half-way


@pytest.fixture
def fail_at_the_end(monkeypatch):
    """The last step of every handover service (queueing the work) fails, after its rows
    were written."""

    def fail(task_name: str, *args: Any) -> None:
        raise RuntimeError("the broker exploded")

    monkeypatch.setattr(services, "enqueue_after_commit", fail)


@pytest.fixture
def endpoint():
    return GenesysSettingsFactory(endpoint__callback_url="https://bot.example.com/cb").endpoint


@pytest.mark.django_db
def test_a_start_that_fails_leaves_no_handover(driver, endpoint, fail_at_the_end):
    with pytest.raises(RuntimeError):
        driver.post(start_url(endpoint), start_body(), format="json")

    assert not Handover.objects.exists()
    assert not OutboundMessage.objects.exists()


@pytest.mark.django_db
def test_a_message_that_fails_leaves_no_message(driver, endpoint, fail_at_the_end):
    handover = HandoverFactory(endpoint=endpoint)
    before = Handover.objects.values("last_activity_at", "expires_at").get()

    with pytest.raises(RuntimeError):
        driver.post(handover_url(handover, "messages"), {"text": "hi"}, format="json")

    assert not OutboundMessage.objects.exists()
    assert Handover.objects.values("last_activity_at", "expires_at").get() == before


@pytest.mark.django_db
def test_an_end_that_fails_leaves_the_handover_open(driver, endpoint, fail_at_the_end):
    handover = HandoverFactory(endpoint=endpoint, status=HandoverStatus.ACTIVE)

    with pytest.raises(RuntimeError):
        driver.delete(handover_url(handover))

    handover.refresh_from_db()
    assert handover.status == HandoverStatus.ACTIVE
    assert handover.ended_at is None
    assert not HandoverEvent.objects.filter(kind=EventKind.ENDED).exists()
    assert not OutboundMessage.objects.exists()


@pytest.mark.django_db
def test_an_error_answer_leaves_the_callers_transaction_usable(api):
    # DRF's handler would mark it for rollback (it takes it for ATOMIC_REQUESTS's own).
    with transaction.atomic():
        assert api.get("/api/v1/endpoints/00000000-0000-0000-0000-000000000000/").status_code == 404
        assert not Handover.objects.exists()  # no TransactionManagementError
