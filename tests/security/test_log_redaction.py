"""What is logged: no webhook token, Authorization value or URL password in any record."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
from django.conf import settings

from security.redaction import MASK, Redactor, RedactSecrets
from tests.factories import OpenMessagingSettingsFactory
from tests.test_settings_checks import ROOT, clean_environment

pytestmark = pytest.mark.django_db

TOKEN = "0123456789abcdef0123456789abcdef0123"  # an API key's or a DRF token's shape


def test_a_webhook_token_never_reaches_the_logs(client, caplog):
    caplog.set_level(logging.DEBUG)
    om_settings = OpenMessagingSettingsFactory()
    token = om_settings.webhook_token

    response = client.post(
        om_settings.webhook_path(),
        data=b"{}",
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256="sha256=bm9wZQ==",
        HTTP_AUTHORIZATION=f"Token {TOKEN}",
    )

    assert response.status_code == 403
    assert f"Forbidden: /genesys/open-messaging/{MASK}/webhook/" in caplog.text
    assert token not in caplog.text
    for record in caplog.records:
        assert token not in record.getMessage()


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("redis://:s3cret@redis:6379/0", f"redis://:{MASK}@redis:6379/0"),
        ("postgres://handover:pw@db:5432/handover", f"postgres://handover:{MASK}@db:5432/handover"),
        ("amqp://guest:guest@mq//", f"amqp://guest:{MASK}@mq//"),
        ("Authorization: Token abc", f"Authorization: Token {MASK}"),
        (
            "{'HTTP_AUTHORIZATION': 'Api-Key abc.def'}",
            f"{{'HTTP_AUTHORIZATION': 'Api-Key {MASK}'}}",
        ),
        ('"authorization": "Bearer eyJ0"', f'"authorization": "Bearer {MASK}"'),
        (f"sent with Token {TOKEN}", f"sent with Token {MASK}"),
        (f"Api-Key {TOKEN}.x", f"Api-Key {MASK}"),
        ("POST /genesys/open-messaging/abc_-1/end/", f"POST /genesys/open-messaging/{MASK}/end/"),
        # Nothing secret: unchanged.
        ("Token refreshed for connection 3", "Token refreshed for connection 3"),
        ("https://login.mypurecloud.de/oauth/token", "https://login.mypurecloud.de/oauth/token"),
        ("mail ada@example.com at 10:30", "mail ada@example.com at 10:30"),
        ("/genesys/open-messaging/", "/genesys/open-messaging/"),
    ],
)
def test_secrets_are_masked_and_the_rest_kept(text, masked):
    assert Redactor(["/genesys/open-messaging/"])(text) == masked


def record(msg: object, *args: object, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("x", logging.ERROR, __file__, 1, msg, args, exc_info)


def test_the_arguments_are_masked_with_the_message():
    entry = record("connect to %s failed: %r", "redis://:s3cret@redis/0", {"pw": "plain"})
    RedactSecrets().filter(entry)
    assert entry.getMessage() == f"connect to redis://:{MASK}@redis/0 failed: {{'pw': 'plain'}}"


def test_a_record_without_secrets_keeps_its_arguments():
    entry = record("handover %s ended (%d events)", 7, 3)
    RedactSecrets().filter(entry)
    assert (entry.msg, entry.args) == ("handover %s ended (%d events)", (7, 3))


def test_a_traceback_is_masked():
    try:
        raise ConnectionError("Error connecting to redis://:s3cret@redis:6379/0.")
    except ConnectionError:
        entry = record("broker down", exc_info=sys.exc_info())
    RedactSecrets().filter(entry)
    text = logging.Formatter().format(entry)
    assert "s3cret" not in text
    assert f"redis://:{MASK}@redis" in text


def test_every_configured_handler_masks():
    handlers = settings.LOGGING["handlers"]
    assert all("redact_secrets" in handler["filters"] for handler in handlers.values())
    # Django's own handlers (console under DEBUG, mail_admins) are replaced.
    assert logging.getLogger("django").handlers == []
    for handler in [*logging.getLogger().handlers, *logging.getLogger("django.server").handlers]:
        if type(handler).__module__.startswith("_pytest"):
            continue
        assert any(isinstance(f, RedactSecrets) for f in handler.filters), handler


WORKER_LOGS = """
import logging
from handover_portal.celery import app
import django
django.setup()
app.log.setup(loglevel="INFO")  # what `celery worker` does at start
logging.getLogger("django.request").warning(
    "Forbidden: %s", "/genesys/open-messaging/planted-webhook-token/webhook/"
)
"""


def test_the_celery_worker_keeps_the_masking_handlers():
    result = subprocess.run(
        [sys.executable, "-c", WORKER_LOGS],
        cwd=ROOT,
        env=clean_environment() | {"SECRET_KEY": "x", "FIELD_ENCRYPTION_KEYS": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert f"Forbidden: /genesys/open-messaging/{MASK}/webhook/" in result.stderr
    assert "planted-webhook-token" not in result.stderr
