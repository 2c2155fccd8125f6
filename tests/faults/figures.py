"""What each fault scenario measured, printed at the end of the session (even with ``-q``).

A scenario fills its ``Figures`` (the ``figures`` fixture) before it asserts, so a failing
scenario still shows what happened: messages sent, received, duplicated, reordered and
missing, the requests the sandbox saw, and figures of its own (time to resume, token
requests…).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Every scenario's figures, in the order they ran.
RECORDED: list[Figures] = []


@dataclass
class Figures:
    scenario: str
    number: int = 0
    sent: int = 0
    received: int = 0
    duplicated: int = 0
    reordered: int = 0
    missing: int = 0
    sandbox_requests: int | None = None
    seconds: float = 0.0
    outcome: str = "not run"
    extra: dict[str, Any] = field(default_factory=dict)

    def __setitem__(self, name: str, value: Any) -> None:
        self.extra[name] = value

    def __getitem__(self, name: str) -> Any:
        return self.extra[name]

    def compare(
        self, sent: Mapping[Hashable, list[str]], received: Mapping[Hashable, list[str]]
    ) -> None:
        """Count what arrived against what was sent, per conversation (order matters within
        one only). Adds to the counts, so a scenario can compare several phases."""
        for key, texts in sent.items():
            got = received.get(key, [])
            counts = _delivery_counts(texts, got)
            self.sent += len(texts)
            self.received += len(got)
            self.duplicated += counts["duplicated"]
            self.reordered += counts["reordered"]
            self.missing += counts["missing"]

    @property
    def clean(self) -> bool:
        """Everything arrived once, in order."""
        return not (self.duplicated or self.reordered or self.missing) and (
            self.received == self.sent
        )

    def line(self) -> str:
        parts = [
            f"sent={self.sent}",
            f"received={self.received}",
            f"duplicated={self.duplicated}",
            f"reordered={self.reordered}",
            f"missing={self.missing}",
            f"sandbox_requests={self.sandbox_requests}",
        ]
        parts += [f"{name}={_format(value)}" for name, value in self.extra.items()]
        head = f"{self.number}. {self.scenario} [{self.outcome}, {self.seconds:.1f} s]"
        return f"{head}: " + ", ".join(parts)


def _delivery_counts(sent: list[str], received: Iterable[str]) -> dict[str, int]:
    """Duplicates (a text seen again), reorderings (a text arriving after one sent later)
    and missing texts, for one conversation whose sent texts are distinct."""
    position = {text: n for n, text in enumerate(sent)}
    seen: set[str] = set()
    duplicated = reordered = 0
    last = -1
    for text in received:
        if text in seen:
            duplicated += 1
            continue
        seen.add(text)
        where = position.get(text, -1)
        if where < last:
            reordered += 1
        last = max(last, where)
    return {
        "duplicated": duplicated,
        "reordered": reordered,
        "missing": len(set(sent) - seen),
    }


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def summary_lines(size: str) -> list[str]:
    if not RECORDED:
        return []
    ordered = sorted(RECORDED, key=lambda figures: figures.number)
    return [f"Fault suite figures (size {size}):", *(f"  {f.line()}" for f in ordered)]
