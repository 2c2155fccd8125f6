"""Genesys Cloud's timestamps, as every API family writes them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

#: How far our clock and Genesys's may disagree when matching a sent message's time.
CLOCK_SKEW = timedelta(seconds=30)


def parse_timestamp(value: Any) -> datetime | None:
    """A Genesys ISO-8601 timestamp (``2025-01-02T03:04:05.678Z``), or ``None``."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
