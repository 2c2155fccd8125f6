from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from endpoints import crypto, rotation
from genesys.models import OAuth2Connection
from tests.factories import CLIENT_SECRET, OAuth2ConnectionFactory

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("rotate_encryption_keys", *args, stdout=out, stderr=out)
    return out.getvalue()


def stored_tokens() -> list[str]:
    return [
        stored.token
        for stored in OAuth2Connection.objects.order_by("pk").values_list(
            "client_secret", flat=True
        )
    ]


@pytest.fixture
def rotated_keys(new_key):
    """Three rows under the current key, then a new first key with the old one retired."""
    OAuth2ConnectionFactory.create_batch(3)
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key, *settings.FIELD_ENCRYPTION_KEYS]):
        yield new_key


def test_rotation_rewrites_every_row_once_and_then_none(rotated_keys):
    assert "Rewrote 3 secrets." in run("--batch-size", "2")
    assert all(crypto.is_under_primary_key(token) for token in stored_tokens())
    assert "Rewrote 0 secrets." in run()
    with override_settings(FIELD_ENCRYPTION_KEYS=[rotated_keys]):  # the old key dropped
        assert {row.client_secret for row in OAuth2Connection.objects.all()} == {CLIENT_SECRET}


def test_check_mode_reports_rows_under_a_retired_key_and_changes_nothing(rotated_keys):
    before = stored_tokens()
    with pytest.raises(CommandError, match="Keep the retired keys"):
        run("--check")
    assert stored_tokens() == before
    run()
    assert "0 secrets and 0 cache entries under a retired key, 0 unreadable." in run("--check")


def test_interrupted_rotation_loses_nothing_and_a_rerun_finishes(rotated_keys, monkeypatch):
    real_rotate_one = rotation._rotate_one
    calls = {"n": 0}

    def crash_on_third_row(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        real_rotate_one(*args, **kwargs)

    monkeypatch.setattr(rotation, "_rotate_one", crash_on_third_row)
    with pytest.raises(KeyboardInterrupt):
        rotation.secrets_rotate(batch_size=2)
    monkeypatch.undo()
    # The first batch committed; the interrupted one rolled back, still readable.
    assert [crypto.is_under_primary_key(token) for token in stored_tokens()] == [
        True,
        True,
        False,
    ]
    assert "Rewrote 1 secrets." in run()
    assert {row.client_secret for row in OAuth2Connection.objects.all()} == {CLIENT_SECRET}


def test_unreadable_rows_are_reported_not_rewritten(new_key):
    OAuth2ConnectionFactory()
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key]):
        before = stored_tokens()
        with pytest.raises(CommandError, match="1 secrets are unreadable"):
            run()
        assert stored_tokens() == before


def test_batch_size_must_be_positive():
    with pytest.raises(CommandError, match="at least 1"):
        run("--batch-size", "0")
