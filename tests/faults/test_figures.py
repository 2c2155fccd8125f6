"""The fault suite's own counting (no processes: a plain unit test)."""

from __future__ import annotations

from tests.faults.figures import Figures


def test_compare_counts_duplicates_reorderings_and_gaps_per_conversation():
    figures = Figures("scenario")
    figures.compare(
        {"a": ["1", "2", "3"], "b": ["x", "y"]},
        {"a": ["1", "3", "2", "3"], "b": ["x"]},
    )
    assert (figures.sent, figures.received) == (5, 5)
    assert (figures.duplicated, figures.reordered, figures.missing) == (1, 1, 1)
    assert not figures.clean


def test_a_clean_delivery_and_the_summary_line():
    figures = Figures("scenario", number=3, outcome="passed", seconds=1.25)
    figures.compare({"a": ["1", "2"]}, {"a": ["1", "2"]})
    figures["resume_seconds"] = 0.5
    assert figures.clean
    assert figures.line() == (
        "3. scenario [passed, 1.2 s]: sent=2, received=2, duplicated=0, reordered=0, "
        "missing=0, sandbox_requests=None, resume_seconds=0.50"
    )
