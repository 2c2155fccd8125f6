"""The endpoint form refuses callback URLs into this server's network, and says why."""

from __future__ import annotations

import os
import string
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from endpoints.admin import EndpointAdminForm
from endpoints.models import Endpoint
from endpoints.outbound_urls import URLRefused, check
from tests.admin_forms import endpoint_form
from tests.ssrf_payloads import HOSTS, PAYLOADS, plant

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:endpoints_endpoint_add")
SIGNING_SECRET = "planted-Signing-Secret-4a7e"


@pytest.fixture(autouse=True)
def _rules(settings, fake_dns):
    settings.CALLBACK_ALLOWED_HOSTS = []
    plant(fake_dns)
    fake_dns.add("receiver.test", ["93.184.215.14"])


def the_rules_say(url: str) -> str:
    with pytest.raises(URLRefused) as refused:
        check(url.strip(), unresolved_ok=True)
    return refused.value.message


def form(callback_url: str) -> EndpointAdminForm:
    """The endpoint admin's form, bound as the add page binds it."""
    return EndpointAdminForm(
        data={
            "name": "Support bot",
            "channel_type": "webchat",
            "handover_provider": "none",
            "callback_url": callback_url,
            "callback_signing_secret": SIGNING_SECRET,
        }
    )


def post(admin_client, callback_url: str):
    data = endpoint_form(callback_url=callback_url, callback_signing_secret=SIGNING_SECRET)
    return admin_client.post(ADD_URL, data)


@pytest.mark.parametrize(("template", "code"), PAYLOADS)
def test_each_payload_is_refused_by_the_form_with_its_reason(template: str, code: str) -> None:
    url = template.replace("{port}", "8080")
    bound = form(url)
    assert not bound.is_valid()
    assert bound.errors["callback_url"] == [the_rules_say(url)]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/cb",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:6379/",
        "http://[::1]:5432/",
        "http://10.0.0.5/",
        "http://2130706433/",
        "http://good.com@127.0.0.1/",
        "http://loopback.test/",
    ],
)
def test_the_admin_page_refuses_the_reported_urls(admin_client, url: str) -> None:
    response = post(admin_client, url)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["callback_url"] == [the_rules_say(url)]
    assert not Endpoint.objects.exists()


def test_the_page_shows_the_reason(admin_client) -> None:
    response = post(admin_client, "http://127.0.0.1:8080/cb")
    assert (
        "127.0.0.1 is a loopback address: callbacks cannot go to this server&#x27;s own network. "
        "Use a public https URL, or list 127.0.0.1 in CALLBACK_ALLOWED_HOSTS."
    ) in response.content.decode()


def test_a_public_https_url_is_saved(admin_client) -> None:
    response = post(admin_client, "https://receiver.test/cb")
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Endpoint.objects.get().callback_url == "https://receiver.test/cb"


def test_a_listed_on_premises_receiver_is_saved(admin_client, settings, fake_dns) -> None:
    fake_dns.add("onprem.test", ["10.20.0.7"])
    settings.CALLBACK_ALLOWED_HOSTS = ["10.20.0.0/16"]
    response = post(admin_client, "http://onprem.test:8080/cb")
    assert response.status_code == 302, response.context["adminform"].form.errors


def test_http_to_a_public_host_is_refused_without_debug(admin_client) -> None:
    response = post(admin_client, "http://receiver.test/cb")
    assert response.context["adminform"].form.errors["callback_url"] == [
        "Use https: plain http goes only to hosts listed in CALLBACK_ALLOWED_HOSTS (or with "
        "DEBUG on)."
    ]


def test_the_model_refuses_them_too() -> None:
    endpoint = Endpoint(name="Direct", callback_url="https://localhost/cb")
    with pytest.raises(ValidationError) as raised:
        endpoint.full_clean()
    [message] = raised.value.message_dict["callback_url"]
    assert message.startswith("localhost resolves to a loopback address")


@st.composite
def internal_urls(draw: Any) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTPS"]))
    userinfo = draw(st.sampled_from(["", "", "good.com@"]))
    path = draw(st.text(string.ascii_letters + string.digits + "/-._~", max_size=12))
    port = draw(st.sampled_from(["", ":80", ":443", ":6379", ":8080"]))
    return f"{scheme}://{userinfo}{draw(HOSTS)}{port}/{path}"


@hypothesis_settings(
    max_examples=150,
    deadline=None,
    # The same examples on every run, so CI is repeatable; set HYPOTHESIS_RANDOM=1 to explore.
    derandomize=not os.environ.get("HYPOTHESIS_RANDOM"),
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(url=internal_urls())
def test_generated_internal_urls_are_refused_by_the_form(url: str) -> None:
    bound = form(url)
    assert not bound.is_valid()
    assert bound.errors["callback_url"] == [the_rules_say(url)]
