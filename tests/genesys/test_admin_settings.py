"""The Handover Settings of the endpoint admin, through Django's test client."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from endpoints.models import Endpoint
from genesys.models import GenesysSettings
from tests.admin_forms import PREFIX, endpoint_form, genesys_fields
from tests.factories import (
    CLIENT_SECRET,
    EndpointFactory,
    GenesysSettingsFactory,
    OAuth2ConnectionFactory,
)

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:endpoints_endpoint_add")


def change_url(endpoint: Endpoint) -> str:
    return reverse("admin:endpoints_endpoint_change", args=[endpoint.pk])


def test_add_form_has_the_seed_labels(admin_client):
    html = admin_client.get(ADD_URL).content.decode()
    for label in [
        "Handover Settings",
        "Handover Provider",
        "Host",
        "Organisation ID",
        "Deployment ID",
        "Queue Name",
        "Queue ID",
        "Session Duration (in minutes)",
        "Send Profile Information",
        "Node Authentication",
    ]:
        assert f"{label}" in html, label
    assert 'class="module provider-settings provider-genesys"' in html
    assert "handover/provider-settings.js" in html
    assert '<option value="genesys">Genesys Cloud</option>' in html


def test_create_endpoint_with_every_genesys_setting(admin_client):
    connection = OAuth2ConnectionFactory()
    queue_id = uuid.uuid4()
    queue_page = (
        f"https://apps.mypurecloud.de/directory/#/admin/organization/queues/{queue_id}/general"
    )
    fields = genesys_fields(
        host="https://apps.mypurecloud.de/",
        queue_id=queue_page,
        queue_name="Cognigy HQ Queue (2nd line) / DE+AT",
        session_duration_minutes="45",
        send_profile_information="on",
        node_authentication=str(connection.pk),
    )
    response = admin_client.post(ADD_URL, endpoint_form(genesys=fields))
    assert response.status_code == 302, response.context and response.context["errors"]
    settings = GenesysSettings.objects.get()
    assert settings.endpoint.handover_provider == "genesys"
    assert settings.host == "mypurecloud.de"
    assert settings.queue_id == queue_id
    assert settings.queue_name == "Cognigy HQ Queue (2nd line) / DE+AT"
    assert settings.session_duration_minutes == 45
    assert settings.send_profile_information is True
    assert settings.node_authentication == connection
    assert str(settings.organization_id) == fields["organization_id"]


def test_defaults_are_20_minutes_and_no_profile(admin_client):
    html = admin_client.get(ADD_URL).content.decode()
    assert f'name="{PREFIX}-0-session_duration_minutes" value="20"' in html
    fields = genesys_fields()
    del fields["session_duration_minutes"]
    admin_client.post(ADD_URL, endpoint_form(genesys={**fields, "session_duration_minutes": "20"}))
    settings = GenesysSettings.objects.get()
    assert settings.session_duration_minutes == 20
    assert settings.send_profile_information is False


def test_reopen_and_change(admin_client):
    settings = GenesysSettingsFactory()
    endpoint = settings.endpoint
    html = admin_client.get(change_url(endpoint)).content.decode()
    assert str(settings.queue_id) in html
    assert "Cognigy HQ Queue" in html
    fields = genesys_fields(
        host="mypurecloud.de",
        organization_id=str(settings.organization_id),
        deployment_id=str(settings.deployment_id),
        queue_id=str(settings.queue_id),
        queue_name="Renamed Queue",
        node_authentication=str(settings.node_authentication_id),
    )
    response = admin_client.post(change_url(endpoint), endpoint_form(endpoint, genesys=fields))
    assert response.status_code == 302
    settings.refresh_from_db()
    assert settings.queue_name == "Renamed Queue"
    assert GenesysSettings.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "host",
            "example.com",
            "“example.com” is not a Genesys Cloud region host. Expected one of",
        ),
        ("host", "", "This field is required."),
        ("organization_id", "not-a-uuid", "Enter a valid ID: a UUID such as"),
        ("deployment_id", "1234", "Enter a valid ID: a UUID such as"),
        ("queue_id", "zzz", "Enter a valid ID: a UUID such as"),
        (
            "queue_id",
            "https://apps.mypurecloud.de/directory/#/admin/organization/queues/general",
            "That address has no queue ID in it.",
        ),
        ("queue_name", "", "This field is required."),
        ("queue_name", "Q" * 300, "Ensure this value has at most 255 characters"),
        ("queue_name", "Queue\x07Bell", "Remove the control characters"),
        ("session_duration_minutes", "0", "Enter a whole number of minutes from 1 to 1440."),
        ("session_duration_minutes", "-5", "Enter a whole number of minutes from 1 to 1440."),
        ("session_duration_minutes", "1.5", "Enter a whole number of minutes from 1 to 1440."),
        ("session_duration_minutes", "1441", "Enter a whole number of minutes from 1 to 1440."),
        ("session_duration_minutes", "ten", "Enter a whole number of minutes from 1 to 1440."),
        ("node_authentication", "999999", "Select a valid choice."),
    ],
)
def test_bad_input_gets_a_clear_error_and_nothing_is_saved(admin_client, field, value, message):
    fields = genesys_fields(**{"queue_name": "Kept Queue Name", field: value})
    response = admin_client.post(ADD_URL, endpoint_form(genesys=fields, name="Kept name"))
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert not Endpoint.objects.exists()
    assert not GenesysSettings.objects.exists()
    assert 'value="Kept name"' in html
    if field != "queue_name":
        assert 'value="Kept Queue Name"' in html


def test_node_authentication_of_another_region_names_both_regions(admin_client):
    dublin = OAuth2ConnectionFactory(
        name="Dublin client", oauth_url="https://login.mypurecloud.ie/oauth/token"
    )
    fields = genesys_fields(host="mypurecloud.de", node_authentication=str(dublin.pk))
    response = admin_client.post(ADD_URL, endpoint_form(genesys=fields))
    assert response.status_code == 200
    assert (
        "“Dublin client” logs in to EMEA (Dublin) (mypurecloud.ie), but Host is "
        "EMEA (Frankfurt) (mypurecloud.de)." in response.content.decode()
    )
    assert not Endpoint.objects.exists()


def test_genesys_fields_are_not_required_when_provider_is_none(admin_client):
    empty = dict.fromkeys(genesys_fields(), "")
    response = admin_client.post(ADD_URL, endpoint_form(genesys=empty, handover_provider="none"))
    assert response.status_code == 302
    assert Endpoint.objects.get().handover_provider == "none"
    assert not GenesysSettings.objects.exists()


def test_genesys_fields_are_required_when_genesys_is_selected(admin_client):
    empty = {**dict.fromkeys(genesys_fields(), ""), "session_duration_minutes": "20"}
    response = admin_client.post(ADD_URL, endpoint_form(genesys=empty))
    assert response.status_code == 200
    assert response.content.decode().count("This field is required.") == 5
    assert not Endpoint.objects.exists()


def test_switching_to_none_keeps_the_stored_settings_untouched(admin_client):
    settings = GenesysSettingsFactory()
    endpoint = settings.endpoint
    before = GenesysSettings.objects.values().get()
    tampered = genesys_fields(queue_name="Changed while inactive", host="bogus")
    response = admin_client.post(
        change_url(endpoint), endpoint_form(endpoint, genesys=tampered, handover_provider="none")
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.handover_provider == "none"
    assert GenesysSettings.objects.values().get() == before


def test_unknown_provider_is_refused_clearly(admin_client):
    response = admin_client.post(ADD_URL, endpoint_form(handover_provider="zendesk\x00"))
    assert response.status_code == 200
    assert (
        "“zendesk?” is not a handover provider. Choose one of: None, Genesys Cloud, "
        "Genesys Cloud Open Messaging." in (response.content.decode())
    )
    assert not Endpoint.objects.exists()


HOSTILE_VALUES = [
    "x" * 100_000,
    "\x00\x01\x02",
    "line\nbreak\r\n",
    "<script>alert(1)</script>",
    "'; DROP TABLE endpoints_endpoint; --",
    "emoji 🙂 and RTL \u202e",
]


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_hostile_input_in_every_field_never_breaks_the_server(admin_client, value):
    fields = {name: value for name in genesys_fields()}
    general = {name: value for name in ("name", "channel_type", "callback_url")}
    response = admin_client.post(
        ADD_URL, endpoint_form(genesys=fields, handover_provider="genesys", **general)
    )
    assert response.status_code == 200
    assert not Endpoint.objects.exists()
    assert "<script>alert(1)</script>" not in response.content.decode()


def test_non_utf8_bytes_never_break_the_server(admin_client):
    body = "&".join(f"{key}={value}" for key, value in endpoint_form().items() if key != "name")
    response = admin_client.post(
        ADD_URL,
        data=(body + "&name=%FF%FE%00bad").encode(),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code in (200, 302)
    assert Endpoint.objects.count() in (0, 1)
    assert GenesysSettings.objects.count() == Endpoint.objects.count()


def test_endpoint_changelist_query_count_does_not_grow(admin_client, django_assert_num_queries):
    EndpointFactory()
    url = reverse("admin:endpoints_endpoint_changelist")
    with CaptureQueriesContext(connection) as one:
        admin_client.get(url)
    EndpointFactory.create_batch(30)
    with django_assert_num_queries(len(one)):
        response = admin_client.get(url)
    assert response.content.decode().count('class="action-select"') == 31


def test_secret_of_the_node_authentication_never_appears_on_the_endpoint_page(admin_client):
    settings = GenesysSettingsFactory()
    html = admin_client.get(change_url(settings.endpoint)).content.decode()
    assert settings.node_authentication.name in html
    assert CLIENT_SECRET not in html


def test_switching_provider_with_open_handovers_warns_that_they_finish_where_they_are(
    admin_client,
):
    from tests.factories import HandoverFactory

    settings = GenesysSettingsFactory()
    endpoint = settings.endpoint
    HandoverFactory.create_batch(2, endpoint=endpoint, provider="genesys", status="active")
    HandoverFactory(endpoint=endpoint, provider="genesys", status="ended")
    fields = genesys_fields(
        host="mypurecloud.de",
        organization_id=str(settings.organization_id),
        deployment_id=str(settings.deployment_id),
        queue_id=str(settings.queue_id),
        queue_name=settings.queue_name,
        node_authentication=str(settings.node_authentication_id),
    )
    data = endpoint_form(endpoint, genesys=fields, handover_provider="none")
    response = admin_client.post(change_url(endpoint), data, follow=True)
    assert response.status_code == 200
    shown = [str(message) for message in response.context["messages"]]
    assert any(
        "2 handovers are still open on Genesys Cloud: they finish there. New handovers use None."
        in message
        for message in shown
    ), shown
    # Saving again without a change of provider warns no more.
    again = admin_client.post(change_url(endpoint), data, follow=True)
    assert not any("still open" in str(message) for message in again.context["messages"])
