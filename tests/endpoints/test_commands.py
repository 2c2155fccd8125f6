from __future__ import annotations

import re
import subprocess
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.core.management import call_command

from handover_portal import devenv

pytestmark = pytest.mark.django_db


def run(name: str) -> str:
    out = StringIO()
    call_command(name, stdout=out)
    return out.getvalue()


def test_ensure_superuser_creates_it_once_from_the_environment(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "boss")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-password-123")
    assert "Created superuser “boss”." in run("ensure_superuser")
    assert "Superuser “boss” exists." in run("ensure_superuser")
    user = get_user_model().objects.get(username="boss")
    assert user.is_superuser
    assert user.check_password("a-long-password-123")


def test_ensure_superuser_without_environment_says_how(monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_USERNAME", raising=False)
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    assert "Create one with: make superuser" in run("ensure_superuser")
    assert not get_user_model().objects.exists()


def test_generate_encryption_key_prints_a_fernet_key():
    Fernet(run("generate_encryption_key").strip())


def test_dev_env_holds_fresh_keys_and_lets_the_environment_win():
    text = devenv.render()
    key = re.search(r"FIELD_ENCRYPTION_KEYS:-([^}]+)}", text).group(1)
    Fernet(key)
    assert devenv.render() != text
    shell = subprocess.run(
        ["bash", "-c", f"FIELD_ENCRYPTION_KEYS=mine; {text}\necho $FIELD_ENCRYPTION_KEYS $DEBUG"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shell.stdout.split() == ["mine", "true"]
