from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from genesys.platform import regions


def test_table_has_the_18_official_regions_and_no_alias():
    hosts = [region.host for region in regions.REGIONS]
    assert len(hosts) == len(set(hosts)) == 18
    assert "mypurecloud.de" in hosts
    assert "euc1.pure.cloud" not in hosts
    assert "afs1.pure.cloud" not in hosts


def test_hosts_are_derived_from_the_base_domain():
    region = regions.get_region("mypurecloud.de")
    assert (region.login_host, region.api_host) == ("login.mypurecloud.de", "api.mypurecloud.de")
    assert regions.oauth_token_url(region) == "https://login.mypurecloud.de/oauth/token"
    assert str(region) == "EMEA (Frankfurt) (mypurecloud.de)"


@pytest.mark.parametrize(
    ("typed", "host"),
    [
        ("mypurecloud.de", "mypurecloud.de"),
        ("  MyPureCloud.DE ", "mypurecloud.de"),
        ("login.mypurecloud.de", "mypurecloud.de"),
        ("api.usw2.pure.cloud", "usw2.pure.cloud"),
        ("https://apps.mypurecloud.de/", "mypurecloud.de"),
        ("https://apps.mypurecloud.de/directory/#/admin", "mypurecloud.de"),
        ("mypurecloud.com.au/", "mypurecloud.com.au"),
        ("edee1.eusc-pure.cloud", "edee1.eusc-pure.cloud"),
    ],
)
def test_pasted_hosts_are_normalised_to_the_base_domain(typed, host):
    assert regions.normalise_host(typed) == host


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "example.com",
        "euc1.pure.cloud",
        "evil.mypurecloud.de",
        "mypurecloud.de.evil.com",
        "https://login.mypurecloud.de@evil.com/",
        "http://[::1",
        "x" * 5000,
        "mypure\x00cloud.de",
    ],
)
def test_anything_else_is_refused_with_the_valid_choices(typed):
    with pytest.raises(ValidationError) as error:
        regions.normalise_host(typed)
    message = error.value.messages[0]
    assert "is not a Genesys Cloud region host" in message
    assert "mypurecloud.de" in message
    assert "apne3.pure.cloud" in message
    assert "\x00" not in message
    assert len(message) < 1000


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://login.mypurecloud.de/oauth/token", "mypurecloud.de"),
        ("https://login.mypurecloud.ie/oauth/token", "mypurecloud.ie"),
        (" https://login.apne2.pure.cloud/oauth/token ", "apne2.pure.cloud"),
    ],
)
def test_oauth_url_gives_its_region(url, host):
    assert regions.region_for_oauth_url(url).host == host


@pytest.mark.parametrize(
    "url",
    [
        "http://login.mypurecloud.de/oauth/token",
        "https://api.mypurecloud.de/oauth/token",
        "https://login.example.com/oauth/token",
        "https://login.mypurecloud.de:8443/oauth/token",
        "https://user:pw@login.mypurecloud.de/oauth/token",
        "https://login.mypurecloud.de/oauth/token?x=1",
        "https://login.mypurecloud.de/oauth/token#x",
        "https://login.mypurecloud.de/oauth/authorize",
        "https://login.mypurecloud.de.evil.com/oauth/token",
        "https://127.0.0.1/oauth/token",
        "https://login.mypurecloud.de:notaport/oauth/token",
        "",
    ],
)
def test_any_other_oauth_url_is_refused_with_the_expected_form(url):
    with pytest.raises(ValidationError) as error:
        regions.region_for_oauth_url(url)
    assert "Expected https://login.<region host>/oauth/token" in error.value.messages[0]
