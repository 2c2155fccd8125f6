"""Every ``/api/`` error is JSON, including Django's own 404 and 500; elsewhere, HTML."""

from __future__ import annotations

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from tests.factories import CLIENT_SECRET

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    [
        "/api/",
        "/api/v1/",
        "/api/v1/nothing-here/",
        "/api/v1/endpoints/not-a-uuid/",
        "/api/v1/oauth2-connections/abc/",
        "/api/v2/endpoints/",
    ],
)
def test_unknown_api_path_is_a_json_404(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_unknown_path_elsewhere_keeps_django_page(api):
    response = api.get("/nothing-here/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.fixture
def crashing_client() -> APIClient:
    with override_settings(ROOT_URLCONF="tests.api.urls_failing"):
        yield APIClient(raise_request_exception=False)


@pytest.mark.parametrize("path", ["/api/v1/crash/", "/api/v1/crash-in-drf/"])
def test_a_crash_under_api_is_a_json_500_without_details(crashing_client, path, caplog):
    response = crashing_client.get(path)
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "A server error occurred."}
    assert CLIENT_SECRET.encode() not in response.content
    assert b"Traceback" not in response.content


def test_a_crash_elsewhere_keeps_django_page(crashing_client):
    response = crashing_client.get("/elsewhere/crash/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/", "/api/redoc/"])
@pytest.mark.parametrize("method", ["post", "options", "delete"])
def test_schema_and_docs_answer_other_methods_with_json_405(api, path, method):
    response = getattr(api, method)(path)
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"].startswith("Method ")
