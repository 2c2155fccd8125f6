"""A staff user who may only view reads no secret: read-only, the admin would render the
decrypted value of every field it shows. It shows "set / not set" instead.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import (
    CLIENT_SECRET,
    WEBHOOK_SECRET,
    GenesysSettingsFactory,
    OpenMessagingSettingsFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

SIGNING_SECRET = "planted-Signing-Secret-view-only-3d"


@pytest.fixture
def viewer(client):
    client.force_login(
        UserFactory(is_staff=True, view=["endpoints.endpoint", "genesys.oauth2connection"])
    )
    return client


@pytest.mark.parametrize(
    "settings_factory", [GenesysSettingsFactory, OpenMessagingSettingsFactory], ids=str
)
def test_the_endpoint_page_shows_no_secret(viewer, settings_factory):
    settings = settings_factory(
        endpoint__callback_url="https://bot.example.com/cb",
        endpoint__callback_signing_secret=SIGNING_SECRET,
    )
    response = viewer.get(reverse("admin:endpoints_endpoint_change", args=[settings.endpoint.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    for secret in [SIGNING_SECRET, WEBHOOK_SECRET, CLIENT_SECRET]:
        assert secret not in html
    assert "Callback signing secret: set" in html


def test_the_connection_page_shows_no_secret(viewer):
    connection = GenesysSettingsFactory().node_authentication
    url = reverse("admin:genesys_oauth2connection_change", args=[connection.pk])
    response = viewer.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert CLIENT_SECRET not in html
    assert "Client Secret: set" in html


def test_the_open_messaging_inline_says_its_secret_is_set(client):
    client.force_login(
        UserFactory(is_staff=True, view=["endpoints.endpoint", "genesys.openmessagingsettings"])
    )
    settings = OpenMessagingSettingsFactory()
    response = client.get(reverse("admin:endpoints_endpoint_change", args=[settings.endpoint.pk]))
    html = response.content.decode()
    assert settings.deployment_name in html  # the inline is shown
    assert WEBHOOK_SECRET not in html
    assert "Webhook Signature Secret: set" in html
