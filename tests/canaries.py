"""Planted canaries, and the search for them in everything the portal puts out.

A canary is a unique secret planted where the portal keeps one (``tests/test_canaries.py``
plants five). ``Outputs`` searches every output it is handed for each canary in the forms a
secret could travel in: as it is, each half of it (a truncated secret is still a leak),
URL-, HTML- and JSON-escaped, as hex, and base64 (standard and URL-safe) at each of the
three alignments it could have inside a longer encoded text (``Basic <id:secret>``).

``LogCapture`` records what is logged (every record as it is raised, before any filter, and
what the project's configured handler writes); ``MemoryBroker`` reads the raw messages the
portal publishes to the ``memory://`` broker and runs them, as a worker would.
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
import secrets
import string
import time
import traceback
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, quote_plus

from kombu.transport import memory

from security.redaction import RedactSecrets

#: Printable ASCII that changes under URL, HTML or JSON escaping (a client secret may hold it).
_ESCAPED = "+/=&<\"'%"


def random_text(length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def base64_fragments(data: bytes) -> list[bytes]:
    """What base64 makes of ``data`` wherever it stands in a longer input: for each of the
    three alignments, the characters that depend on ``data`` alone."""
    fragments = []
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + data)
        first_group = -(-shift // 3)  # the first 3-byte group that holds only ``data``
        end_group = (shift + len(data)) // 3
        fragments.append(encoded[4 * first_group : 4 * end_group])
    return fragments


@dataclass(frozen=True)
class Canary:
    """One planted secret; ``value`` is what must never leave (for an API key, the part
    after its prefix: the prefix names the key and is shown on purpose)."""

    kind: str
    value: str

    @classmethod
    def planted(cls, kind: str, length: int = 32, *, escaped: bool = False) -> Canary:
        """A new random canary; ``escaped`` puts characters in it that escaping changes."""
        if not escaped:
            return cls(kind, random_text(length))
        half = length // 2
        return cls(kind, random_text(half) + _ESCAPED + random_text(length - half))

    def needles(self) -> Iterator[tuple[str, bytes]]:
        """Each form the canary could travel in, named."""
        raw = self.value.encode()
        middle = len(raw) // 2
        forms: dict[str, bytes] = {
            "as is": raw,
            "first half": raw[:middle],
            "second half": raw[middle:],
            "URL-encoded": quote(self.value, safe="").encode(),
            "form-encoded": quote_plus(self.value).encode(),
            "HTML-escaped": html.escape(self.value).encode(),
            "repr": repr(self.value)[1:-1].encode(),
            "repr, HTML-escaped": html.escape(repr(self.value)[1:-1]).encode(),
            "JSON-escaped": json.dumps(self.value)[1:-1].encode(),
            "JSON-escaped (ASCII, slashes)": json.dumps(self.value)[1:-1]
            .replace("/", "\\/")
            .encode(),
            "hex": raw.hex().encode(),
            "HEX": raw.hex().upper().encode(),
        }
        for shift, fragment in enumerate(base64_fragments(raw)):
            forms[f"base64 (shift {shift})"] = fragment
            forms[f"URL-safe base64 (shift {shift})"] = fragment.translate(
                bytes.maketrans(b"+/", b"-_")
            )
        seen: set[bytes] = set()
        for name, needle in forms.items():
            if needle not in seen:
                seen.add(needle)
                yield name, needle


class _RawRecords(logging.Handler):
    """Every record as it was raised: first on the root logger, before any handler's filter
    (``RedactSecrets`` masks records in place) has touched it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        parts = [record.getMessage()]
        if record.exc_info:
            parts.append("".join(traceback.format_exception(*record.exc_info)))
        if record.exc_text:
            parts.append(record.exc_text)
        if record.stack_info:
            parts.append(record.stack_info)
        parts += [f"{name}={value!r}" for name, value in vars(record).items() if name in _EXTRA]
        self.texts.append((f"{record.name} {record.levelname}", "\n".join(parts)))


#: Attributes Django and libraries attach to records (``extra=``) that handlers may show.
_EXTRA = {"request", "status_code", "data", "body", "headers", "url", "args_repr"}


class LogCapture:
    """Root at DEBUG; the raw records, and what the configured handlers (with the project's
    filters and formatters) write, swapped to memory meanwhile."""

    def __init__(self) -> None:
        self.raw = _RawRecords()
        self.streams: list[tuple[logging.StreamHandler, Any, io.StringIO]] = []

    @contextmanager
    def capturing(self) -> Iterator[LogCapture]:
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.DEBUG)
        root.handlers.insert(0, self.raw)
        configured = [
            handler
            for handler in root.handlers
            if isinstance(handler, logging.StreamHandler)
            and any(isinstance(f, RedactSecrets) for f in handler.filters)
        ]
        assert configured, "the project's LOGGING has no masking handler on the root logger"
        for handler in configured:
            buffer = io.StringIO()
            self.streams.append((handler, handler.setStream(buffer), buffer))
        try:
            yield self
        finally:
            for handler, stream, _buffer in self.streams:
                handler.setStream(stream)
            root.handlers.remove(self.raw)
            root.setLevel(level)

    def hand_over(self, outputs: Outputs) -> None:
        """Give every record and every handler's output to ``outputs``."""
        for where, text in self.raw.texts:
            outputs.add("log record", where, text)
        for handler, _stream, buffer in self.streams:
            name = f"handler {handler.name or type(handler).__name__}"
            outputs.add("log output", name, buffer.getvalue())
        written = any(buffer.getvalue() for _handler, _stream, buffer in self.streams)
        assert written or not self.raw.texts, "the configured handler wrote nothing"


@dataclass
class Outputs:
    """Everything the portal put out during a test, searched for the canaries as it comes;
    ``logs`` captures what is logged meanwhile (``with outputs.logs.capturing()``)."""

    canaries: list[Canary]
    counts: Counter[str] = field(default_factory=Counter)
    leaks: list[str] = field(default_factory=list)
    logs: LogCapture = field(default_factory=lambda: LogCapture())

    def __post_init__(self) -> None:
        self._needles = [
            (canary, name, needle) for canary in self.canaries for name, needle in canary.needles()
        ]

    def add(self, kind: str, where: str, data: bytes | str | Any) -> None:
        """Search one output: ``kind`` counts it ("admin page"), ``where`` names it."""
        if not isinstance(data, bytes | str):
            data = json.dumps(data, default=repr, sort_keys=True)
        blob = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
        self.counts[kind] += 1
        for canary, form, needle in self._needles:
            offset = blob.find(needle)
            if offset >= 0:
                context = blob[max(0, offset - 80) : offset + len(needle) + 40]
                context = context.replace(needle, f"<<{canary.kind}>>".encode())
                self.leaks.append(
                    f"{canary.kind} ({form}) in {kind}: {where}, at byte {offset}: {context!r}"
                )

    def finish(self, caplog_records: Iterable[logging.LogRecord] = ()) -> None:
        """Search what was logged (and pytest's ``caplog`` records too), say how much was
        searched (``pytest -s`` shows it), then fail with every sighting."""
        self.logs.hand_over(self)
        for record in caplog_records:
            self.add("caplog record", record.name, record.getMessage() + (record.exc_text or ""))
        print(f"\ncanaries searched in: {self.summary()}")
        self.assert_clean()

    def assert_clean(self) -> None:
        if self.leaks:
            listed = "\n  ".join(self.leaks[:50])
            more = f"\n  … and {len(self.leaks) - 50} more" if len(self.leaks) > 50 else ""
            raise AssertionError(
                f"{len(self.leaks)} canary sightings in the portal's outputs:\n  {listed}{more}"
            )

    def summary(self) -> str:
        return ", ".join(f"{count} {kind}" for kind, count in sorted(self.counts.items()))


#: A task due later than this (a countdown) is searched but not run.
MAX_WAIT_SECONDS = 1.0


class MemoryBroker:
    """The Celery app's ``memory://`` broker: the raw messages published to it, each
    searched as serialized, and run here as a worker would (until none is left)."""

    def __init__(self, app: Any, outputs: Outputs) -> None:
        self.app = app
        self.outputs = outputs
        self.tasks: Counter[str] = Counter()
        self.deferred: Counter[str] = Counter()

    def purge(self) -> None:
        for queue in memory.Channel.queues.values():
            queue.queue.clear()

    def take(self) -> list[dict[str, Any]]:
        """Every message waiting, as the transport stores it (body base64-encoded)."""
        taken = []
        for queue in memory.Channel.queues.values():
            while not queue.empty():
                taken.append(queue.get_nowait())
        return taken

    def run(self, capture_on_commit: Any, *, rounds: int = 30) -> int:
        """Run what was published, and what that publishes, ``rounds`` times at most; how
        many messages were read. ``capture_on_commit`` is pytest-django's fixture: tasks
        enqueue after commit, and the test's transaction never commits."""
        read = 0
        for _ in range(rounds):
            messages = self.take()
            if not messages:
                return read
            with capture_on_commit(execute=True):
                for message in messages:
                    read += 1
                    self._run(message)
        raise AssertionError(f"tasks were still being published after {rounds} rounds")

    def _run(self, message: dict[str, Any]) -> None:
        headers = message["headers"]
        name = headers["task"]
        self.tasks[name] += 1
        body = base64.b64decode(message["body"])
        where = f"{name} {headers.get('argsrepr')}"
        self.outputs.add("broker message", where, json.dumps(message, default=repr).encode())
        self.outputs.add("broker message body", where, body)
        args, kwargs, _embed = json.loads(body)
        ids = [*args, *kwargs.values()]
        assert all(_ids(value) for value in ids), f"{name}: not ids: {ids!r}"
        if headers.get("eta"):
            wait = (datetime.fromisoformat(headers["eta"]) - datetime.now(UTC)).total_seconds()
            if wait > MAX_WAIT_SECONDS:
                self.deferred[name] += 1  # a worker would hold it until then
                return
            time.sleep(max(0.0, wait))
        result = self.app.tasks[name].apply(args=args, kwargs=kwargs)
        if result.failed():
            raise AssertionError(f"{name}{tuple(args)} failed: {result.traceback}")


def _ids(value: Any) -> bool:
    """A task argument as tasks take them: an id or a name, or a list of ids (a batch's)."""
    if isinstance(value, list):
        return all(isinstance(item, int) for item in value)
    return isinstance(value, int | str)
