"""The log filter and the error reports know every secret's name from the model registry."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import RequestFactory, override_settings

from security.error_reports import SafeExceptionReporterFilter
from security.redaction import MASK, Redactor, RedactSecrets
from security.sensitive_names import FIXED_NAMES, sensitive_names
from tests.test_settings_checks import ROOT, clean_environment

VAULT_INSTALLED = override_settings(INSTALLED_APPS=[*settings.INSTALLED_APPS, "tests.vault"])


def test_every_sensitive_model_field_is_named():
    names = sensitive_names()
    assert names >= FIXED_NAMES
    for name in ["client_secret", "webhook_secret", "callback_signing_secret", "jwt"]:
        assert name in names
    assert "name" not in names


def test_a_new_model_s_secrets_are_named_while_its_app_is_installed():
    # Named like nothing secret, and declared only on the model (tests/vault).
    assert "combination" not in sensitive_names()
    with VAULT_INSTALLED:
        assert {"combination", "spare"} <= sensitive_names()
        assert Redactor()("opened with combination=4-8-15") == f"opened with combination={MASK}"
    assert "combination" not in sensitive_names()


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("client_secret=abc123&scope=users", f"client_secret={MASK}&scope=users"),
        ("{'webhook_secret': 'two words'}", f"{{'webhook_secret': '{MASK}'}}"),
        ('{"callback_signing_secret": "s3cr3t"}', f'{{"callback_signing_secret": "{MASK}"}}'),
        ("password: hunter2", f"password: {MASK}"),
        ("JWT=eyJ0.x.y", f"JWT={MASK}"),
        # Nothing secret: unchanged.
        ("has_client_secret=True", "has_client_secret=True"),
        ("client_secret is sensitive", "client_secret is sensitive"),
        ("{'client_secret': ''}", "{'client_secret': ''}"),
    ],
)
def test_a_value_under_a_secret_s_name_is_masked(text, masked):
    assert Redactor()(text) == masked


def test_the_log_filter_masks_it_in_the_arguments():
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "sent %s", ({"webhook_secret": "planted-w"},), None
    )
    RedactSecrets().filter(record)
    assert "planted-w" not in record.getMessage()
    assert f"'webhook_secret': '{MASK}'" in record.getMessage()


LOGGING_BEFORE_MODELS = """
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "handover_portal.settings")
from security.redaction import Redactor
redact = Redactor()  # as the logging configuration makes it: before the models load
print(redact("client_secret=planted-c"))
import django
django.setup()
print(redact("client_secret=planted-c"))
"""


def test_the_names_are_read_once_the_models_are_loaded():
    result = subprocess.run(
        [sys.executable, "-c", LOGGING_BEFORE_MODELS],
        cwd=ROOT,
        env=clean_environment() | {"SECRET_KEY": "x", "FIELD_ENCRYPTION_KEYS": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["client_secret=planted-c", f"client_secret={MASK}"]


def test_error_reports_hide_a_posted_secret_by_its_name():
    request = RequestFactory().post(
        "/", {"genesys_om_settings-0-webhook_secret": "planted-w", "name": "Support bot"}
    )
    cleansed = SafeExceptionReporterFilter().get_post_parameters(request)
    assert cleansed["genesys_om_settings-0-webhook_secret"] != "planted-w"
    assert cleansed["name"] == "Support bot"


def test_error_reports_hide_a_local_named_like_a_new_model_s_secret():
    with VAULT_INSTALLED:
        shown = SafeExceptionReporterFilter().cleanse_setting("combination", "4-8-15")
    assert shown != "4-8-15"
