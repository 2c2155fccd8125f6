"""The one backoff formula (``endpoints.backoff``) every retry uses."""

from __future__ import annotations

import pytest

from endpoints.backoff import backoff_seconds


@pytest.mark.parametrize(
    ("attempt", "ceiling"),
    [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (50, 10.0)],
)
def test_the_wait_doubles_per_attempt_up_to_the_cap_jittered_down_to_half(attempt, ceiling):
    waits = [backoff_seconds(attempt, base=1.0, cap=10.0) for _ in range(200)]

    assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
    assert len(set(waits)) > 1  # jittered: callers that failed together spread out


@pytest.mark.parametrize("attempt", [0, -3])
def test_an_attempt_below_one_counts_as_the_first(attempt):
    assert 0.5 <= backoff_seconds(attempt, base=1.0, cap=10.0) <= 1.0


def test_a_cap_below_the_base_wins():
    assert 0.1 <= backoff_seconds(1, base=5.0, cap=0.2) <= 0.2
