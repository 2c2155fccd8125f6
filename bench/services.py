"""The servers the benchmarks run on: this machine's PostgreSQL and Redis, or, when either
does not answer, SQLite files and the filesystem broker (with a note in the output).

Each benchmark gets a database of its own (``hp_bench_<run>_<name>``), copied from a
template migrated once per run, and every one is dropped at the end. Redis is one database
(``BENCH_REDIS_URL``, ``redis://127.0.0.1:6379/5`` by default) for the broker and the
cache, every key under the run's prefix (``hp_bench_<run>``: Celery's ``global_keyprefix``
and the cache's ``KEY_PREFIX``, ``bench/settings.py``), emptied before each benchmark and
at the end: two runs at once, or another user of that Redis database, do not meet.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import redis

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
#: This run's name in database names and Redis keys (``BENCH_RUN_ID`` to choose it).
RUN_ID = os.environ.get("BENCH_RUN_ID") or secrets.token_hex(3)
PREFIX = f"hp_bench_{RUN_ID}_"
TEMPLATE = PREFIX + "template"
KEY_PREFIX = f"hp_bench_{RUN_ID}"


def _postgres_answers() -> bool:
    try:
        with psycopg.connect(f"{POSTGRES_URL}/postgres", connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def _redis_answers() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping())
    except redis.RedisError:
        return False


@dataclass
class Services:
    """Where the benchmarks' databases, broker and cache are."""

    workdir: Path
    postgres: bool
    redis: bool
    notes: list[str] = field(default_factory=list)
    databases: set[str] = field(default_factory=set)

    @classmethod
    def detect(cls, workdir: Path) -> Services:
        services = cls(workdir, _postgres_answers(), _redis_answers())
        if not services.postgres:
            services.notes.append(
                f"PostgreSQL does not answer at {POSTGRES_URL}: SQLite files instead (one "
                "writer at a time; no EXPLAIN ANALYZE, one relay replica only)."
            )
        if not services.redis:
            services.notes.append(
                f"Redis does not answer at {REDIS_URL}: the filesystem broker and a per-process "
                "cache instead (tokens and availability cached per process, slower tasks)."
            )
        return services

    @property
    def database_kind(self) -> str:
        return "PostgreSQL" if self.postgres else "SQLite"

    def database_url(self, name: str, **options: str) -> str:
        if self.postgres:
            query = "&".join(f"{key}={value}" for key, value in options.items())
            return f"{POSTGRES_URL}/{PREFIX}{name}" + (f"?{query}" if query else "")
        return f"sqlite:///{self.workdir / f'{PREFIX}{name}.sqlite3'}"

    def database_name(self, name: str) -> str:
        return PREFIX + name

    @property
    def template_url(self) -> str:
        return self.database_url("template")

    def create_template(self) -> None:
        """An empty database for ``migrate`` to fill; the benchmarks' copies come from it."""
        self.drop("template")
        if self.postgres:
            self._admin(f'CREATE DATABASE "{TEMPLATE}"')
        self.databases.add("template")

    def create(self, name: str) -> str:
        """A fresh copy of the migrated template; returns its URL."""
        self.drop(name)
        if self.postgres:
            self._admin(f'CREATE DATABASE "{PREFIX}{name}" TEMPLATE "{TEMPLATE}"')
        else:
            shutil.copyfile(self._sqlite_path("template"), self._sqlite_path(name))
        self.databases.add(name)
        return self.database_url(name)

    def drop(self, name: str) -> None:
        if self.postgres:
            self._admin(f'DROP DATABASE IF EXISTS "{PREFIX}{name}" WITH (FORCE)')
        else:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    Path(f"{self._sqlite_path(name)}{suffix}").unlink()
        self.databases.discard(name)

    def drop_all(self) -> None:
        for name in list(self.databases):
            with contextlib.suppress(psycopg.Error, OSError):
                self.drop(name)

    def _sqlite_path(self, name: str) -> Path:
        return Path(urlsplit(self.database_url(name)).path)

    def _admin(self, sql: str) -> None:
        with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as connection:
            connection.execute(sql)  # names are ours, never input

    # Broker and cache

    @property
    def broker_url(self) -> str:
        return REDIS_URL if self.redis else "filesystem://"

    @property
    def cache_url(self) -> str:
        return REDIS_URL if self.redis else "locmemcache://"

    def flush(self) -> None:
        """Empty this run's broker and cache (between benchmarks, and at the end)."""
        if self.redis:
            client = redis.Redis.from_url(REDIS_URL)
            keys = list(client.scan_iter(match=f"{KEY_PREFIX}*", count=1000))
            for start in range(0, len(keys), 1000):
                client.delete(*keys[start : start + 1000])
        else:
            shutil.rmtree(self.broker_dir, ignore_errors=True)
            (self.broker_dir / "queue").mkdir(parents=True)
            (self.broker_dir / "processed").mkdir(parents=True)

    @property
    def broker_dir(self) -> Path:
        return self.workdir / "broker"
