"""The callback URL rules: public addresses over https, or what CALLBACK_ALLOWED_HOSTS lists."""

from __future__ import annotations

import ipaddress

import pytest
from django.core.exceptions import ValidationError

from endpoints.outbound_urls import (
    URLRefused,
    check,
    check_callback_allowed_hosts,
    classify,
    parse_allowlist,
    validate_callback_url,
)
from tests.ssrf_payloads import PAYLOADS, plant


@pytest.fixture(autouse=True)
def _rules(settings, fake_dns):
    """Nothing listed; DEBUG on, so that http URLs are refused for their host, not their
    scheme."""
    settings.DEBUG = True
    settings.CALLBACK_ALLOWED_HOSTS = []
    plant(fake_dns)
    fake_dns.add("receiver.test", ["203.0.114.7"])  # public (just past TEST-NET-3)
    fake_dns.add("onprem.test", ["10.20.0.7"])


def refusal(url: str) -> URLRefused:
    with pytest.raises(URLRefused) as refused:
        check(url)
    return refused.value


@pytest.mark.parametrize(("template", "code"), PAYLOADS)
def test_ssrf_payloads_are_refused_with_the_reason(template: str, code: str) -> None:
    refused = refusal(template.replace("{port}", "8080"))
    assert refused.code == code
    assert refused.message


def test_there_are_enough_payloads() -> None:
    assert len(PAYLOADS) >= 50


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "http://127.0.0.1:8080/cb",
            "127.0.0.1 is a loopback address: callbacks cannot go to this server's own "
            "network. Use a public https URL, or list 127.0.0.1 in CALLBACK_ALLOWED_HOSTS.",
        ),
        (
            "http://[::ffff:127.0.0.1]/",
            "::ffff:7f00:1 (127.0.0.1) is a loopback address: callbacks cannot go to this "
            "server's own network. Use a public https URL, or list 127.0.0.1 in "
            "CALLBACK_ALLOWED_HOSTS.",
        ),
        (
            "https://internal.test/cb",
            "internal.test resolves to a private address: callbacks cannot go to internal "
            "networks. Use a public https URL, or list the receiver's addresses (or network) "
            "in CALLBACK_ALLOWED_HOSTS.",
        ),
        (
            "https://metadata.google.test/",
            "metadata.google.test resolves to a cloud metadata address: callbacks cannot go "
            "to the metadata service. Use a public https URL, or list that exact address in "
            "CALLBACK_ALLOWED_HOSTS.",
        ),
    ],
)
def test_the_message_says_why_and_what_to_do(url: str, message: str) -> None:
    assert refusal(url).message == message


def test_a_name_s_resolved_addresses_are_not_disclosed() -> None:
    assert "10.1.2.3" not in refusal("https://internal.test/").message


def test_a_public_https_url_is_checked_and_pinned(fake_dns) -> None:
    target = check("https://Receiver.TEST./hook?a=1")
    assert (target.scheme, target.host, target.port, target.path) == (
        "https",
        "receiver.test",
        443,
        "/hook?a=1",
    )
    assert target.addresses == (ipaddress.ip_address("203.0.114.7"),)
    assert target.host_header == "receiver.test"
    assert check("https://receiver.test:8443").host_header == "receiver.test:8443"
    assert check("https://receiver.test:8443").path == "/"


def test_an_idn_host_is_resolved_in_punycode(fake_dns) -> None:
    fake_dns.add("xn--bcher-kva.test", ["203.0.114.8"])
    assert check("https://BÜCHER.test/").host == "xn--bcher-kva.test"


def test_every_address_of_a_name_must_be_allowed() -> None:
    assert refusal("https://mixed.test/").code == "loopback"


def test_http_needs_debug_or_a_listing(settings) -> None:
    settings.DEBUG = False
    assert refusal("http://receiver.test/").code == "https_required"
    assert check("https://receiver.test/").scheme == "https"
    settings.CALLBACK_ALLOWED_HOSTS = ["receiver.test"]
    assert check("http://receiver.test/").scheme == "http"


@pytest.mark.parametrize("port", [80, 443, 1024, 8080, 65535])
def test_web_ports_are_allowed(port: int) -> None:
    assert check(f"https://receiver.test:{port}/").port == port


@pytest.mark.parametrize(
    "port",
    ["22", "25", "1023", "0", "65536", "99999", "+443", "\uff18\uff10"],  # fullwidth 80
)
def test_other_ports_are_refused(port: str) -> None:
    assert refusal(f"https://receiver.test:{port}/").code == "port"


def test_a_listed_address_may_be_reached_over_http(settings) -> None:
    settings.DEBUG = False
    settings.CALLBACK_ALLOWED_HOSTS = ["127.0.0.1"]
    assert check("http://127.0.0.1:8080/cb").addresses == (ipaddress.ip_address("127.0.0.1"),)
    assert check("http://[::ffff:127.0.0.1]:8080/cb").port == 8080
    assert refusal("http://127.0.0.2:8080/cb").code == "loopback"
    assert refusal("http://localhost:8080/cb").code == "loopback"  # ::1 is not listed


def test_a_listed_network_covers_a_name_resolving_into_it(settings) -> None:
    settings.DEBUG = False
    settings.CALLBACK_ALLOWED_HOSTS = ["10.20.0.0/16"]
    assert check("http://onprem.test/cb").host == "onprem.test"
    assert refusal("http://internal.test/cb").code == "private"


def test_listing_a_name_never_lets_it_reach_an_internal_address(settings) -> None:
    settings.CALLBACK_ALLOWED_HOSTS = ["internal.test", "loopback.test", "localhost"]
    assert refusal("https://internal.test/").code == "private"
    assert refusal("https://loopback.test/").code == "loopback"
    assert refusal("https://localhost/").code == "loopback"


def test_a_metadata_address_is_reached_only_when_listed_by_itself(settings) -> None:
    settings.CALLBACK_ALLOWED_HOSTS = ["169.254.0.0/16", "100.64.0.0/10", "fd00::/8"]
    assert check("http://169.254.1.1/").port == 80
    for url in [
        "http://169.254.169.254/",
        "http://[::ffff:169.254.169.254]/",
        "http://100.100.100.200/",
        "http://[fd00:ec2::254]/",
        "http://metadata.google.test/",
    ]:
        assert refusal(url).code == "metadata", url
    settings.CALLBACK_ALLOWED_HOSTS = ["169.254.169.254"]
    assert check("http://169.254.169.254/latest/").path == "/latest/"


def test_an_unresolvable_name_passes_validation_but_not_a_send(fake_dns) -> None:
    fake_dns.add("not-yet.test", [])
    validate_callback_url("https://not-yet.test/cb")
    assert refusal("https://not-yet.test/cb").code == "unresolved"


def test_the_validator_raises_a_validation_error_with_the_message() -> None:
    with pytest.raises(ValidationError) as raised:
        validate_callback_url("http://10.0.0.5/")
    assert raised.value.code == "private"
    assert raised.value.messages == [refusal("http://10.0.0.5/").message]


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        ("2002:808:808::1", None),  # 6to4 of a public address
        ("127.0.0.1", "loopback"),
        ("0.1.2.3", "unspecified"),
        ("::2", "unspecified"),  # IPv4-compatible 0.0.0.2
        ("10.255.255.255", "private"),
        ("172.31.0.1", "private"),
        ("172.32.0.1", None),
        ("100.127.255.255", "shared"),
        ("100.128.0.1", None),
        ("192.0.0.8", "reserved"),
        ("192.88.99.1", None),
        ("203.0.113.9", "reserved"),
        ("::ffff:8.8.8.8", "reserved"),  # mapped: never what a resolver answers
        ("2001::1", "reserved"),  # Teredo
        ("ff05::2", "multicast"),
    ],
)
def test_addresses_are_classified(address: str, kind: str | None) -> None:
    assert classify(ipaddress.ip_address(address)) == kind


def test_the_allowlist_takes_names_addresses_and_networks() -> None:
    allowed = parse_allowlist([" receiver.corp.example. ", "10.0.0.5", "[::1]", "fd12::/48", ""])
    assert allowed.names == frozenset({"receiver.corp.example"})
    assert [str(network) for network in allowed.networks] == ["10.0.0.5/32", "::1/128", "fd12::/48"]


@pytest.mark.parametrize(
    "entry",
    ["10.0.0.5/24", "*.corp.example", "https://receiver.test/", "receiver.test:8443", "a b"],
)
def test_a_bad_allowlist_entry_stops_the_app(settings, entry: str) -> None:
    settings.CALLBACK_ALLOWED_HOSTS = ["127.0.0.1", entry]
    [error] = check_callback_allowed_hosts()
    assert error.id == "endpoints.E001"
    assert "CALLBACK_ALLOWED_HOSTS" in error.msg
    # Meanwhile the good entries apply and the bad one is left out.
    assert check("http://127.0.0.1:8080/").port == 8080


def test_a_good_allowlist_passes_the_check(settings) -> None:
    settings.CALLBACK_ALLOWED_HOSTS = ["127.0.0.1", "::1", "10.0.0.0/8", "receiver.test"]
    assert check_callback_allowed_hosts() == []
