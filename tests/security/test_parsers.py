"""The REST API refuses JSON nested too deeply or with too long keys: 400, saying why."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from endpoints.models import Handover
from security.parsers import MAX_DEPTH, MAX_KEY_LENGTH
from tests.api.conftest import DRIVE_HANDOVER, token_client
from tests.factories import GenesysSettingsFactory, TokenFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def driver():
    """A channel's API client: it may start handovers."""
    return token_client(TokenFactory(user=UserFactory(perms=[DRIVE_HANDOVER])))


@pytest.fixture
def start_url() -> str:
    endpoint = GenesysSettingsFactory().endpoint
    return reverse("api:endpoint-handovers", kwargs={"id": endpoint.public_id})


def start(driver, url: str, custom_fields: object = None, raw: str | None = None):
    body = {"user_id": "u-1", "session_id": "s-1", "custom_fields": custom_fields or {}}
    text = raw if raw is not None else json.dumps(body)
    return driver.post(url, data=text, content_type="application/json")


def nested(depth: int) -> str:
    """A start body whose custom_fields nest ``depth`` arrays deep (built as text: the
    encoder would recurse)."""
    return (
        '{"user_id": "u-1", "session_id": "s-1", "custom_fields": {"k": '
        + ("[" * depth + "]" * depth)
        + "}}"
    )


@pytest.mark.parametrize("depth", [MAX_DEPTH, 100_000])
def test_a_body_nested_too_deeply_is_a_400_that_says_so(driver, start_url, depth):
    response = start(driver, start_url, raw=nested(depth))

    assert response.status_code == 400
    assert response.json() == {
        "detail": f"JSON parse error - the body is nested more than {MAX_DEPTH} levels deep."
    }
    assert not Handover.objects.exists()


def test_a_key_longer_than_255_characters_is_a_400_that_says_so(driver, start_url):
    response = start(driver, start_url, {"k" * (MAX_KEY_LENGTH + 1): "v"})

    assert response.status_code == 400
    detail = response.json()["detail"]
    assert f"is longer than {MAX_KEY_LENGTH} characters" in detail
    assert "k" * 30 not in detail  # the key is not echoed whole
    assert not Handover.objects.exists()


def test_keys_of_255_characters_and_moderate_nesting_pass_the_parser(driver, start_url):
    # Past the parser, the start serializer judges the key (custom fields: 100 characters).
    response = start(driver, start_url, {"k" * MAX_KEY_LENGTH: "v"})
    assert response.status_code == 400
    assert "detail" not in response.json()  # not the parser's refusal
    assert "custom_fields" in response.json()
    # Nested within the bound: the parser lets it through, the serializer judges it.
    response = start(driver, start_url, raw=nested(MAX_DEPTH - 3))
    assert response.status_code == 400
    assert "custom_fields" in response.json()
