"""The database connection: ``DATABASE_URL``, kept open between requests and tasks.

Opening a PostgreSQL connection costs more than most requests (the bare Django view served
4 to 15 times more with persistent connections, bench/README.md). So every process keeps
its connection for ``DATABASE_CONN_MAX_AGE`` seconds (600; 0 closes it after each request
or task, Django's default) and, with ``DATABASE_CONN_HEALTH_CHECKS`` (on), checks it with
one round trip before the first query of each request or task, so a connection PostgreSQL
dropped (a restart, a failover, ``pg_terminate_backend``) is replaced instead of failing
that request. ``?conn_max_age=`` and ``?conn_health_checks=`` in ``DATABASE_URL`` win.

Django closes old connections around each request; Celery's Django fixup closes every
connection around each task, whatever ``CONN_MAX_AGE`` says:
``reuse_connections_between_tasks`` gives workers Django's request rule instead. The relay
closes old connections around each job of its threads (``endpoints.handovers.relay_threads``).

On PostgreSQL, statements are bound on the server and prepared once a connection has run
them ``DATABASE_PREPARE_THRESHOLD`` times (psycopg's automatic prepared statements, which
Django turns off unless asked): PostgreSQL then plans the relay's hot statements once per
connection instead of on every execution, and planning a statement of many joins took
longer than running it (bench/README.md). ``DATABASE_SERVER_SIDE_BINDING=false`` restores
Django's default (client-side binding, nothing prepared), for a pooler that cannot keep
prepared statements (PgBouncer in transaction mode before 1.21).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import environ

#: Seconds a connection is kept open: long enough to serve thousands of requests, short
#: enough that PostgreSQL's per-backend memory is given back now and then.
DEFAULT_CONN_MAX_AGE = 600

#: Celery's fixup closes connections every ``CELERY_DB_REUSE_MAX`` tasks when it is set
#: (and around every task when it is not): never, here; ``close_old_connections`` decides.
CELERY_DB_REUSE_MAX = 2**62

#: A statement is prepared on its fifth execution on a connection (psycopg's default).
DEFAULT_PREPARE_THRESHOLD = 5


def database_config(env: environ.Env, *, default_url: str) -> dict[str, Any]:
    """``DATABASES["default"]`` from ``DATABASE_URL``, with persistent connections."""
    url = env.str("DATABASE_URL", default=default_url)
    config = env.db_url_config(url)
    given = parse_qs(urlsplit(url).query)
    if "conn_max_age" not in given:
        config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=DEFAULT_CONN_MAX_AGE)
    if "conn_health_checks" in given:
        # django-environ passes the text on, and Django takes any non-empty text as true.
        config["CONN_HEALTH_CHECKS"] = env.parse_value(given["conn_health_checks"][-1], bool)
    else:
        config["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_CONN_HEALTH_CHECKS", default=True)
    if config["ENGINE"] == "django.db.backends.postgresql":
        options = config.setdefault("OPTIONS", {})
        if env.bool("DATABASE_SERVER_SIDE_BINDING", default=True):
            options.setdefault("server_side_binding", True)
            options.setdefault(
                "prepare_threshold",
                env.int("DATABASE_PREPARE_THRESHOLD", default=DEFAULT_PREPARE_THRESHOLD),
            )
    return config


def reuse_connections_between_tasks() -> None:
    """Around each task a worker runs, close only the connections Django would close
    around a request: unusable ones (an error, a health check failed) and those older
    than ``CONN_MAX_AGE``; and arm the next health check.

    Needs ``CELERY_DB_REUSE_MAX`` (settings), without which Celery's fixup closes every
    connection before and after each task. Tasks run eagerly (in the caller, maybe inside
    its transaction) are left alone, as the fixup leaves them.
    """
    from celery import signals
    from django.db import close_old_connections

    def close_old(sender: Any = None, **kwargs: Any) -> None:
        if not getattr(getattr(sender, "request", None), "is_eager", False):
            close_old_connections()

    signals.task_prerun.connect(close_old, weak=False, dispatch_uid="hp-db-task-prerun")
    signals.task_postrun.connect(close_old, weak=False, dispatch_uid="hp-db-task-postrun")
