"""The relay's threads keep their database connection between jobs, and replace one that
PostgreSQL dropped before the next job's first query (``close_old_connections`` around each
job, with the connection settings of ``handover_portal.database``)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from django.db import connection

from endpoints.handovers.relay_threads import BlockingPool

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pool() -> Iterator[BlockingPool]:
    if connection.vendor != "postgresql":
        pytest.skip("backend ids and pg_terminate_backend need PostgreSQL")
    pool = BlockingPool(1, name="test-relay")
    yield pool
    asyncio.run(pool.run(lambda: connection.close()))  # the thread's own connection
    pool.close()


def backend_id() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def in_pool(pool: BlockingPool) -> int:
    return asyncio.run(pool.run(backend_id))


def test_a_thread_keeps_its_connection_between_jobs(pool):
    assert in_pool(pool) == in_pool(pool)


def test_a_dropped_connection_is_replaced_before_the_next_job(pool):
    first = in_pool(pool)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [first])

    assert in_pool(pool) != first  # and no error: the health check found it dead
