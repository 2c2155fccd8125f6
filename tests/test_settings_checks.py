"""The app refuses to start without its keys, and is deploy-clean with the documented settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management.utils import get_random_secret_key

from endpoints.crypto import generate_key

ROOT = Path(__file__).resolve().parent.parent


# Set by make or by other tests; each test here states its own.
NOT_INHERITED = {
    "SECRET_KEY",
    "FIELD_ENCRYPTION_KEYS",
    "DEBUG",
    "DATABASE_URL",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "GENESYS_API_BASE_URL",
    "GENESYS_API_BASE_URL_ALLOWED",
}


def clean_environment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key not in NOT_INHERITED}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = clean_environment()
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": get_random_secret_key(),
    "FIELD_ENCRYPTION_KEYS": generate_key(),
    "ALLOWED_HOSTS": "handover.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://handover.example.com",
}


def test_a_secret_key_starting_with_a_dollar_is_taken_as_it_is():
    result = manage("check", **{**PRODUCTION, "SECRET_KEY": "$" + get_random_secret_key()})
    assert result.returncode == 0, result.stderr


def test_missing_secret_key_stops_the_app_with_the_fix():
    env = {key: value for key, value in PRODUCTION.items() if key != "SECRET_KEY"}
    result = manage("check", **env)
    assert result.returncode != 0
    assert "handover_portal.E001" in result.stderr
    assert "Set the SECRET_KEY environment variable" in result.stderr


def test_missing_encryption_keys_stop_the_app_with_the_fix():
    env = {key: value for key, value in PRODUCTION.items() if key != "FIELD_ENCRYPTION_KEYS"}
    result = manage("check", **env)
    assert result.returncode != 0
    assert "handover_portal.E002" in result.stderr
    assert "generate_encryption_key" in result.stderr


def test_malformed_encryption_key_stops_the_app_without_echoing_it():
    result = manage("check", **{**PRODUCTION, "FIELD_ENCRYPTION_KEYS": "short-and-wrong"})
    assert result.returncode != 0
    assert "handover_portal.E003" in result.stderr
    assert "short-and-wrong" not in result.stderr


def test_wsgi_application_refuses_to_start_without_keys():
    env = {key: value for key, value in PRODUCTION.items() if key != "FIELD_ENCRYPTION_KEYS"}
    base = clean_environment()
    result = subprocess.run(
        [sys.executable, "-c", "import handover_portal.wsgi"],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SystemCheckError" in result.stderr
    assert "FIELD_ENCRYPTION_KEYS is not set" in result.stderr


@pytest.mark.parametrize("debug", ["true", "false"])
def test_generated_dev_keys_or_production_settings_pass(debug):
    result = manage("check", **{**PRODUCTION, "DEBUG": debug})
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_is_clean_with_the_documented_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_unknown_provider_path_is_a_check_error():
    result = manage("check", **{**PRODUCTION, "HANDOVER_PROVIDERS": "nowhere.Provider"})
    assert result.returncode != 0
    assert "handover_portal.E004" in result.stderr
    assert "nowhere.Provider" in result.stderr
