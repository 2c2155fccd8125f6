"""``handover_portal.database``: persistent connections by default, with health checks, and
prepared statements on PostgreSQL."""

from __future__ import annotations

import environ
import pytest
from django.conf import settings
from django.db import connection

from handover_portal import database
from handover_portal.celery import app

DEFAULT_URL = "sqlite:///unused.sqlite3"
POSTGRES = "postgres://portal@db.example:5432/portal"


@pytest.fixture
def config(monkeypatch):
    """``database_config`` under the given environment variables (and no others of ours)."""
    for name in (
        "DATABASE_URL",
        "DATABASE_CONN_MAX_AGE",
        "DATABASE_CONN_HEALTH_CHECKS",
        "DATABASE_SERVER_SIDE_BINDING",
        "DATABASE_PREPARE_THRESHOLD",
    ):
        monkeypatch.delenv(name, raising=False)

    def configured(**variables: str) -> dict:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        return database.database_config(environ.Env(), default_url=DEFAULT_URL)

    return configured


def test_connections_persist_ten_minutes_with_health_checks_by_default(config):
    result = config(DATABASE_URL=POSTGRES)
    assert result["CONN_MAX_AGE"] == 600
    assert result["CONN_HEALTH_CHECKS"] is True
    assert result["NAME"] == "portal"


def test_the_default_database_persists_too(config):
    result = config()
    assert result["ENGINE"] == "django.db.backends.sqlite3"
    assert result["CONN_MAX_AGE"] == 600


@pytest.mark.parametrize(
    ("variables", "max_age", "health_checks"),
    [
        ({"DATABASE_CONN_MAX_AGE": "0"}, 0, True),
        ({"DATABASE_CONN_MAX_AGE": "60", "DATABASE_CONN_HEALTH_CHECKS": "false"}, 60, False),
        # A value in the URL wins over the variable.
        ({"DATABASE_URL": f"{POSTGRES}?conn_max_age=30", "DATABASE_CONN_MAX_AGE": "0"}, 30, True),
        ({"DATABASE_URL": f"{POSTGRES}?conn_max_age=0"}, 0, True),
        (
            {
                "DATABASE_URL": f"{POSTGRES}?conn_health_checks=false",
                "DATABASE_CONN_HEALTH_CHECKS": "true",
            },
            600,
            False,
        ),
        ({"DATABASE_URL": f"{POSTGRES}?conn_health_checks=on"}, 600, True),
    ],
    ids=["disabled", "variables", "url-max-age", "url-zero", "url-health-off", "url-health-on"],
)
def test_the_variables_and_the_url(config, variables, max_age, health_checks):
    variables.setdefault("DATABASE_URL", POSTGRES)
    result = config(**variables)
    assert result["CONN_MAX_AGE"] == max_age
    assert result["CONN_HEALTH_CHECKS"] is health_checks


def test_the_settings_use_it():
    expected = database.database_config(environ.Env(), default_url=DEFAULT_URL)
    default = settings.DATABASES["default"]
    assert default["CONN_MAX_AGE"] == expected["CONN_MAX_AGE"]
    assert default["CONN_HEALTH_CHECKS"] == expected["CONN_HEALTH_CHECKS"]
    # The admin's requests stay atomic (the API's are taken out: endpoints.api.transactions).
    assert default["ATOMIC_REQUESTS"] is True


def test_celerys_fixup_is_told_to_leave_connections_open():
    # Read by celery.fixups.django.DjangoWorkerFixup under exactly this name.
    assert app.conf.get("CELERY_DB_REUSE_MAX") == database.CELERY_DB_REUSE_MAX


def test_postgresql_binds_on_the_server_and_prepares_repeated_statements(config):
    options = config(DATABASE_URL=POSTGRES)["OPTIONS"]
    assert options["server_side_binding"] is True
    assert options["prepare_threshold"] == database.DEFAULT_PREPARE_THRESHOLD == 5
    assert config(DATABASE_URL=POSTGRES, DATABASE_PREPARE_THRESHOLD="1")["OPTIONS"] == {
        "server_side_binding": True,
        "prepare_threshold": 1,
    }
    # Django's default again, for a pooler that cannot keep prepared statements.
    assert "server_side_binding" not in config(
        DATABASE_URL=POSTGRES, DATABASE_SERVER_SIDE_BINDING="false"
    ).get("OPTIONS", {})
    assert "server_side_binding" not in config().get("OPTIONS", {})  # SQLite


@pytest.mark.postgresql("prepared statements are its own")
@pytest.mark.django_db
def test_a_statement_run_again_is_planned_once_per_connection():
    """On PostgreSQL the fifth run of a statement prepares it: PostgreSQL keeps its plan
    for the connection (``pg_prepared_statements`` lists what this session prepared)."""
    from endpoints.models import Handover

    def prepared() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                           ["%endpoints_handover%"])  # fmt: skip
            return cursor.fetchone()[0]

    before = prepared()
    for pk in range(database.DEFAULT_PREPARE_THRESHOLD + 1):
        list(Handover.objects.filter(pk=pk))
    assert prepared() == before + 1
