"""GENESYS_API_BASE_URL in production: only when allowed, and never plain HTTP off the machine."""

from __future__ import annotations

import pytest

from genesys.checks import check_api_base_url
from tests.test_settings_checks import PRODUCTION, manage


def test_a_base_url_without_debug_stops_the_app_unless_allowed():
    result = manage("check", **PRODUCTION, GENESYS_API_BASE_URL="https://sandbox.example.com")
    assert result.returncode != 0
    assert "genesys.E002" in result.stderr
    assert "GENESYS_API_BASE_URL_ALLOWED=true" in result.stderr


def test_an_allowed_base_url_on_this_machine_passes_the_deploy_check():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        **PRODUCTION,
        GENESYS_API_BASE_URL="http://127.0.0.1:8765",
        GENESYS_API_BASE_URL_ALLOWED="true",
    )
    assert result.returncode == 0, result.stderr


def test_an_allowed_plain_http_base_url_elsewhere_stops_the_app_without_its_credentials():
    result = manage(
        "check",
        **PRODUCTION,
        GENESYS_API_BASE_URL="http://user:planted-pw@sandbox.example.com:8765/x",
        GENESYS_API_BASE_URL_ALLOWED="true",
    )
    assert result.returncode != 0
    assert "genesys.E003" in result.stderr
    assert "http://sandbox.example.com:8765" in result.stderr
    assert "planted-pw" not in result.stderr


@pytest.mark.parametrize(
    ("base", "debug", "allowed", "error"),
    [
        ("", False, False, None),
        ("http://sandbox.example.com", True, False, None),  # development: anything
        ("https://sandbox.example.com", False, False, "genesys.E002"),
        ("https://sandbox.example.com", False, True, None),
        ("http://127.0.0.1:8765", False, True, None),
        ("http://127.8.9.10:8765", False, True, None),
        ("http://[::1]:8765", False, True, None),
        ("http://localhost:8765", False, True, None),
        ("http://10.0.0.5:8765", False, True, "genesys.E003"),
        ("http://localhost.example.com", False, True, "genesys.E003"),
        ("ftp://127.0.0.1", False, True, "genesys.E003"),
        ("http://[::1", False, True, "genesys.E003"),  # not a URL
    ],
)
def test_which_base_urls_are_refused(settings, base, debug, allowed, error):
    settings.GENESYS_API_BASE_URL = base
    settings.DEBUG = debug
    settings.GENESYS_API_BASE_URL_ALLOWED = allowed
    assert [message.id for message in check_api_base_url()] == ([error] if error else [])
