"""The technical 500 page (DEBUG) shows no secret: locals, URL passwords, Authorization."""

from __future__ import annotations

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path
from django.views.decorators.debug import sensitive_variables

from tests.factories import CLIENT_SECRET

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

BROKER_PASSWORD = "planted-broker-password-31c"
CACHE_PASSWORD = "planted-cache-password-8d2"
DATABASE_PASSWORD = "planted-database-password-5e7"
JWT = "planted.jwt.value-9a4"
API_KEY = "planted-api-key-value-2b6f-0123456789"


def crash(request: HttpRequest) -> HttpResponse:
    client_secret = CLIENT_SECRET
    jwt = JWT
    body = {"grant_type": "client_credentials", "client_secret": CLIENT_SECRET}
    broker = f"redis://:{BROKER_PASSWORD}@redis.example.com:6379/0"
    raise RuntimeError(f"cannot reach {broker} with {len(client_secret + jwt + str(body))}")


@sensitive_variables("secret")
def crash_in_a_marked_function(request: HttpRequest) -> HttpResponse:
    secret = CLIENT_SECRET
    raise RuntimeError(f"failed with {len(secret)}")


urlpatterns = [path("crash/", crash), path("marked/", crash_in_a_marked_function)]


@pytest.fixture
def debug_page(settings):
    settings.DEBUG = True
    settings.CELERY_BROKER_URL = f"redis://:{BROKER_PASSWORD}@redis.example.com:6379/0"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"redis://user:{CACHE_PASSWORD}@redis.example.com:6379/1",
        }
    }

    def get(url: str) -> str:
        response = Client(raise_request_exception=False).get(
            url,
            HTTP_AUTHORIZATION=f"Api-Key {API_KEY}",
            # runserver copies the environment into request.META.
            DATABASE_URL=f"postgres://handover:{DATABASE_PASSWORD}@db:5432/handover",
        )
        assert response.status_code == 500
        html = response.content.decode()
        assert "Traceback" in html  # the technical page
        return html

    return get


PLANTED = [CLIENT_SECRET, BROKER_PASSWORD, CACHE_PASSWORD, DATABASE_PASSWORD, JWT, API_KEY]


@pytest.mark.parametrize("url", ["/crash/", "/marked/"])
def test_the_debug_page_shows_no_secret(debug_page, url):
    html = debug_page(url)
    for planted in PLANTED:
        assert planted not in html
    assert "redis.example.com" in html  # the URLs are shown, their passwords masked
