"""The OpenAPI schema and the interactive docs, served from our own static files."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.factories import CLIENT_SECRET

pytestmark = pytest.mark.django_db


def test_schema_is_valid_openapi_3_without_warnings(tmp_path):
    # --fail-on-warn: a view or field drf-spectacular cannot describe fails the test.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", tmp_path / "s.yaml")
    assert (tmp_path / "s.yaml").read_text().startswith("openapi: 3.0")


def test_schema_is_served_and_documents_token_auth(anonymous):
    response = anonymous.get(reverse("api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Handover Portal API"
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


def test_schema_shows_no_secret_field(anonymous):
    response = anonymous.get(reverse("api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    names = property_names(response.json())
    assert "has_client_secret" in names
    assert "client_secret" not in names
    assert CLIENT_SECRET.encode() not in response.content


def test_schema_documents_genesys_as_nullable(anonymous):
    schema = anonymous.get(
        reverse("api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json"
    ).json()
    genesys = schema["components"]["schemas"]["Endpoint"]["properties"]["genesys"]
    assert genesys["nullable"] is True
    assert genesys["allOf"] == [{"$ref": "#/components/schemas/GenesysSettings"}]


def test_docs_page_loads_swagger_ui_from_our_static_files(anonymous):
    response = anonymous.get(reverse("api-docs"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn." not in html
    assert "//unpkg" not in html
