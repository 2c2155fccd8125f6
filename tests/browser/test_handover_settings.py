"""The Handover Settings tab in a real browser: reveal, popup, and no secret in any page."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect

from genesys.models import GenesysSettings, OAuth2Connection
from tests.factories import CLIENT_SECRET, OAuth2ConnectionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GENESYS_GROUP = "#genesys_settings-group"
FIELD = "#id_genesys_settings-0-{}"


def test_choosing_genesys_reveals_its_fields_and_none_hides_them(admin_page: Page, live_server):
    admin_page.goto(f"{live_server.url}/admin/endpoints/endpoint/add/")
    group = admin_page.locator(GENESYS_GROUP)
    expect(group).to_be_hidden()
    admin_page.select_option("#id_handover_provider", "genesys")
    expect(group).to_be_visible()
    expect(admin_page.locator(FIELD.format("organization_id"))).to_be_visible()
    admin_page.select_option("#id_handover_provider", "none")
    expect(group).to_be_hidden()


def test_without_javascript_the_fields_are_shown(no_js_admin_page: Page, live_server):
    no_js_admin_page.goto(f"{live_server.url}/admin/endpoints/endpoint/add/")
    expect(no_js_admin_page.locator(GENESYS_GROUP)).to_be_visible()
    expect(no_js_admin_page.locator(FIELD.format("queue_name"))).to_be_visible()


def test_create_endpoint_with_a_new_connection_through_the_popup(admin_page: Page, live_server):
    page = admin_page
    page.goto(f"{live_server.url}/admin/endpoints/endpoint/add/")
    page.fill("#id_name", "Web shop bot")
    page.select_option("#id_handover_provider", "genesys")
    page.select_option(FIELD.format("host"), "mypurecloud.de")
    organization_id, deployment_id, queue_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    page.fill(FIELD.format("organization_id"), str(organization_id))
    page.fill(FIELD.format("deployment_id"), str(deployment_id))
    page.fill(FIELD.format("queue_name"), "Cognigy HQ Queue")
    page.fill(
        FIELD.format("queue_id"),
        f"https://apps.mypurecloud.de/directory/#/admin/organization/queues/{queue_id}/general",
    )
    page.fill(FIELD.format("session_duration_minutes"), "30")
    page.check(FIELD.format("send_profile_information"))

    with page.expect_popup() as popup_info:
        page.click("#add_id_genesys_settings-0-node_authentication")
    popup = popup_info.value
    popup.wait_for_load_state()
    popup.fill("#id_name", "Genesys EU client")
    popup.fill("#id_oauth_url", "https://login.mypurecloud.de/oauth/token")
    popup.fill("#id_client_id", "client-id-123")
    popup.fill("#id_client_secret", CLIENT_SECRET)
    assert CLIENT_SECRET not in popup.content()
    with popup.expect_event("close"):
        popup.click("input[name=_save]")

    connection = OAuth2Connection.objects.get(name="Genesys EU client")
    expect(page.locator(FIELD.format("node_authentication"))).to_have_value(str(connection.pk))
    page.click("input[name=_save]")
    expect(page.locator(".messagelist .success")).to_contain_text("was added successfully")

    settings = GenesysSettings.objects.select_related("endpoint").get()
    assert settings.endpoint.name == "Web shop bot"
    assert settings.endpoint.handover_provider == "genesys"
    assert (settings.organization_id, settings.deployment_id) == (organization_id, deployment_id)
    assert settings.queue_id == queue_id
    assert settings.session_duration_minutes == 30
    assert settings.send_profile_information is True
    assert settings.node_authentication == connection
    assert connection.client_secret == CLIENT_SECRET

    for path in [
        f"/admin/endpoints/endpoint/{settings.endpoint.pk}/change/",
        "/admin/endpoints/endpoint/",
        f"/admin/genesys/oauth2connection/{connection.pk}/change/",
        "/admin/genesys/oauth2connection/",
        f"/admin/genesys/oauth2connection/{connection.pk}/history/",
        "/admin/",
    ]:
        page.goto(f"{live_server.url}{path}")
        assert CLIENT_SECRET not in page.content(), path


def test_reopening_shows_the_settings_and_whether_a_secret_is_set(admin_page: Page, live_server):
    connection = OAuth2ConnectionFactory()
    admin_page.goto(f"{live_server.url}/admin/genesys/oauth2connection/{connection.pk}/change/")
    secret_input = admin_page.locator("#id_client_secret")
    expect(secret_input).to_have_value("")
    expect(secret_input).to_have_attribute("autocomplete", "new-password")
    expect(admin_page.locator("#id_client_secret_helptext")).to_contain_text("A secret is stored")
    assert CLIENT_SECRET not in admin_page.content()


def test_choosing_open_messaging_reveals_only_its_fields_and_saves(admin_page: Page, live_server):
    from genesys.models import OpenMessagingSettings

    connection = OAuth2ConnectionFactory()
    page = admin_page
    page.goto(f"{live_server.url}/admin/endpoints/endpoint/add/")
    om_group = page.locator("#genesys_om_settings-group")
    om_field = "#id_genesys_om_settings-0-{}"
    expect(om_group).to_be_hidden()
    page.select_option("#id_handover_provider", "genesys_om")
    expect(om_group).to_be_visible()
    expect(page.locator(GENESYS_GROUP)).to_be_hidden()
    page.fill("#id_name", "Messaging bot")
    page.select_option(om_field.format("host"), "mypurecloud.de")
    page.fill(om_field.format("integration_id"), str(uuid.uuid4()))
    page.fill(om_field.format("deployment_name"), "Support bot")
    page.fill(om_field.format("queue_name"), "Cognigy HQ Queue")
    page.fill(om_field.format("queue_id"), str(uuid.uuid4()))
    page.select_option(om_field.format("node_authentication"), str(connection.pk))
    secret = "a-long-webhook-signature-secret"
    expect(page.locator(om_field.format("webhook_secret"))).to_have_attribute(
        "autocomplete", "new-password"
    )
    page.fill(om_field.format("webhook_secret"), secret)
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist .success")).to_be_visible()
    om_settings = OpenMessagingSettings.objects.get()
    assert om_settings.webhook_secret == secret
    assert secret not in page.content()
    url = page.locator(om_field.format("webhook_url")).input_value()
    assert url == f"{live_server.url}/genesys/open-messaging/{om_settings.webhook_token}/webhook/"
