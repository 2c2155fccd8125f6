"""The admin's "Test connection" on OAuth2 connections and endpoints, against the sandbox."""

from __future__ import annotations

import logging
import socket

import pytest
from django.urls import reverse

from tests.conftest import QUEUE_NAME
from tests.factories import (
    CLIENT_SECRET,
    UNSENDABLE_SECRET,
    EndpointFactory,
    OAuth2ConnectionFactory,
)

pytestmark = pytest.mark.django_db


def run_test_connection(admin_client, obj, model: str) -> str:
    url = reverse(f"admin:{model}_test_connection", args=[obj.pk])
    response = admin_client.post(url, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert CLIENT_SECRET not in html
    assert UNSENDABLE_SECRET not in html
    return " ".join(str(message) for message in response.context["messages"])


def endpoint_report(admin_client, endpoint) -> str:
    return run_test_connection(admin_client, endpoint, "endpoints_endpoint")


def connection_report(admin_client, connection) -> str:
    return run_test_connection(admin_client, connection, "genesys_oauth2connection")


def test_change_pages_have_the_button(admin_client, genesys_settings):
    for url in [
        reverse("admin:endpoints_endpoint_change", args=[genesys_settings.endpoint.pk]),
        reverse(
            "admin:genesys_oauth2connection_change",
            args=[genesys_settings.node_authentication.pk],
        ),
    ]:
        assert "Test connection</button>" in admin_client.get(url).content.decode()


def test_a_good_connection_gets_a_token(admin_client, connection):
    report = connection_report(admin_client, connection)
    assert "Genesys Cloud EMEA (Frankfurt) (mypurecloud.de) issued a token" in report
    assert "valid for 24 h" in report


def test_bad_credentials_are_named(admin_client, genesys):
    wrong = OAuth2ConnectionFactory(name="Typo", client_secret="typo")
    report = connection_report(admin_client, wrong)
    assert "refused the client ID or secret of “Typo”" in report


def test_a_stored_secret_http_basic_cannot_carry_is_a_finding(admin_client, genesys, caplog):
    caplog.set_level(logging.DEBUG)
    # Written before the form refused such secrets.
    row = OAuth2ConnectionFactory(name="Pasted", client_secret=UNSENDABLE_SECRET)
    report = connection_report(admin_client, row)
    assert "The client secret of “Pasted” holds characters HTTP Basic authentication" in report
    assert "enter the client secret again" in report
    changelist = admin_client.get(reverse("admin:genesys_oauth2connection_changelist"))
    assert changelist.status_code == 200
    for text in (report, changelist.content.decode(), caplog.text):
        assert UNSENDABLE_SECRET not in text


@pytest.mark.parametrize("stored", ["unsendable", "unreadable"])
def test_endpoint_report_names_a_secret_that_cannot_be_sent(
    admin_client, genesys, genesys_settings, settings, new_key, stored
):
    connection = genesys_settings.node_authentication
    if stored == "unsendable":
        connection.client_secret = UNSENDABLE_SECRET
        connection.save()
    else:
        settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the key it was encrypted with is gone
    report = endpoint_report(admin_client, genesys_settings.endpoint)
    assert f"The client secret of “{connection.name}”" in report
    assert "enter the client secret again" in report
    assert genesys.requests("/oauth/token") == []


def test_unreachable_genesys_is_named(admin_client, connection, settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.GENESYS_API_BASE_URL = f"http://127.0.0.1:{port}"
    assert "could not be reached" in connection_report(admin_client, connection)


def test_endpoint_report_has_token_queue_and_figures(admin_client, genesys_settings):
    report = endpoint_report(admin_client, genesys_settings.endpoint)
    assert "issued a token" in report
    assert f"Queue “{QUEUE_NAME}” found." in report
    assert (
        "Agent availability: available: 3 agents on queue, 2 idle, 1 conversations waiting, "
        "estimated wait 42 s." in report
    )


def test_unknown_queue_is_named(admin_client, genesys, genesys_settings):
    genesys.delete_queue(str(genesys_settings.queue_id))
    report = endpoint_report(admin_client, genesys_settings.endpoint)
    assert f"Queue ID {genesys_settings.queue_id} was not found" in report


def test_queue_name_mismatch_is_named(admin_client, genesys_settings):
    genesys_settings.queue_name = "Wrong Name"
    genesys_settings.save()
    report = endpoint_report(admin_client, genesys_settings.endpoint)
    assert f"is “{QUEUE_NAME}” in Genesys Cloud, but Queue Name says “Wrong Name”" in report


def test_missing_permission_is_named(admin_client, genesys, genesys_settings):
    genesys.put_client(
        genesys_settings.node_authentication.client_id,
        client_secret=CLIENT_SECRET,
        permissions=["routing:queue:view"],
    )
    report = endpoint_report(admin_client, genesys_settings.endpoint)
    assert "analytics:queueObservation:view" in report


def test_endpoint_without_provider_says_so(admin_client):
    report = endpoint_report(admin_client, EndpointFactory())
    assert "Handover Provider is None: there is no connection to test." in report


def test_get_is_not_allowed(admin_client, connection):
    url = reverse("admin:genesys_oauth2connection_test_connection", args=[connection.pk])
    assert admin_client.get(url).status_code == 405


def test_changelist_action_tests_the_selected(admin_client, connection):
    response = admin_client.post(
        reverse("admin:genesys_oauth2connection_changelist"),
        {"action": "test_connection", "_selected_action": [connection.pk]},
        follow=True,
    )
    messages = " ".join(str(message) for message in response.context["messages"])
    assert "issued a token" in messages
