"""The OpenAPI schema and the interactive docs, served from our own static files."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from tests.api.conftest import key_client
from tests.factories import CLIENT_SECRET, ChannelFactory, UserFactory, issue_key

pytestmark = pytest.mark.django_db


def test_schema_is_valid_openapi_3_without_warnings(tmp_path):
    # --fail-on-warn: a view or field drf-spectacular cannot describe fails the test.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", tmp_path / "s.yaml")
    assert (tmp_path / "s.yaml").read_text().startswith("openapi: 3.0")


def test_schema_is_served_and_documents_key_and_token_auth(api):
    response = api.get(reverse("api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Handover Portal API"
    assert schema["components"]["securitySchemes"]["channelApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "A channel's API key with the prefix `Api-Key`: "
        "`Authorization: Api-Key <key>`. It reaches only its channel's endpoints.",
    }
    assert schema["components"]["securitySchemes"]["tokenAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": 'Token-based authentication with required prefix "Token"',
    }
    assert set(schema["paths"]) == {
        "/api/v1/endpoints/",
        "/api/v1/endpoints/{id}/",
        "/api/v1/endpoints/{id}/agent-availability/",
        "/api/v1/endpoints/{id}/handovers/",
        "/api/v1/endpoints/{id}/metrics/",
        "/api/v1/handovers/{id}/",
        "/api/v1/handovers/{id}/messages/",
        "/api/v1/handovers/{id}/events/",
        "/api/v1/handovers/{id}/typing/",
        "/api/v1/oauth2-connections/",
        "/api/v1/oauth2-connections/{id}/",
    }


def property_names(node: object) -> set[str]:
    """Every property name declared anywhere in a JSON schema."""
    if isinstance(node, list):
        return set().union(*map(property_names, node))
    if not isinstance(node, dict):
        return set()
    names = set(node.get("properties", {}))
    return names.union(*map(property_names, node.values()))


def test_schema_shows_no_secret_field(api):
    response = api.get(reverse("api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    names = property_names(response.json())
    assert "has_client_secret" in names
    assert "client_secret" not in names
    assert CLIENT_SECRET.encode() not in response.content


def test_schema_documents_genesys_as_nullable(api):
    schema = api.get(reverse("api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    genesys = schema["components"]["schemas"]["Endpoint"]["properties"]["genesys"]
    assert genesys["nullable"] is True
    assert genesys["allOf"] == [{"$ref": "#/components/schemas/GenesysSettings"}]


@pytest.mark.parametrize(
    ("name", "asset"),
    [
        ("api-docs", "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"),
        ("api-redoc", "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"),
    ],
)
def test_docs_pages_load_from_our_static_files(name, asset):
    client = APIClient()
    client.force_login(UserFactory(is_staff=True, view=["endpoints.endpoint"]))
    response = client.get(reverse(name))
    assert response.status_code == 200
    html = response.content.decode()
    assert asset in html
    assert "cdn." not in html
    assert "//unpkg" not in html


DOCS = ["api-schema", "api-docs", "api-redoc"]


@pytest.mark.parametrize("name", DOCS)
def test_docs_need_a_credential(anonymous, name):
    response = anonymous.get(reverse(name))
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}


@pytest.mark.parametrize("name", DOCS)
def test_docs_need_the_permission_to_view_endpoints(driver, name):
    assert driver.get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", DOCS)
def test_a_channel_key_reads_the_docs(name):
    client = key_client(issue_key(ChannelFactory())[1])
    assert client.get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", DOCS)
def test_api_docs_public_opens_them(anonymous, settings, name):
    settings.API_DOCS_PUBLIC = True
    assert anonymous.get(reverse(name)).status_code == 200
