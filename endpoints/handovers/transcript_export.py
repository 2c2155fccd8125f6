"""A handover's transcript as a file: JSON (for tools) or plain text (for people).

The admin's "Export" links and action use it; the lines are the admin's transcript (both
directions, in time order), so the file says what the page says.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from django.http import HttpResponse
from django.utils import timezone

from endpoints.models import Handover


class Line(Protocol):
    at: Any
    who: str
    text: str
    state: str
    failed: bool


def document(handover: Handover, lines: Sequence[Line]) -> dict[str, Any]:
    def iso(value: Any) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": str(handover.public_id),
        "endpoint": str(handover.endpoint),
        "provider": handover.provider,
        "user_id": handover.user_id,
        "session_id": handover.session_id,
        "status": handover.status,
        "agent_name": handover.agent_name,
        "started_at": iso(handover.started_at),
        "ended_at": iso(handover.ended_at),
        "end_reason": handover.end_reason,
        "transcript": [
            {
                "at": line.at.isoformat(),
                "from": line.who,
                "text": line.text,
                "delivery": line.state,
                "failed": line.failed,
            }
            for line in lines
        ],
    }


def as_text(handover: Handover, lines: Sequence[Line]) -> str:
    header = [
        f"Handover {handover.public_id}",
        f"Endpoint: {handover.endpoint}",
        f"User: {handover.user_id} · session {handover.session_id}",
        f"Status: {handover.get_status_display()}"
        + (f" ({handover.get_end_reason_display()})" if handover.end_reason else ""),
        f"Agent: {handover.agent_name or '—'}",
        "",
    ]
    body = []
    for line in lines:
        at = timezone.localtime(line.at).strftime("%Y-%m-%d %H:%M:%S")
        state = f"  [{line.state}]" if line.state else ""
        text = line.text.replace("\n", "\n    ")
        body.append(f"{at} {line.who}: {text}{state}")
    return "\n".join([*header, *body]) + "\n"


def json_response(documents: Iterable[dict[str, Any]], filename: str) -> HttpResponse:
    documents = list(documents)
    body = documents[0] if len(documents) == 1 else documents
    return _attachment(
        json.dumps(body, ensure_ascii=False, indent=2) + "\n",
        "application/json",
        f"{filename}.json",
    )


def text_response(texts: Iterable[str], filename: str) -> HttpResponse:
    return _attachment("\n\n".join(texts), "text/plain; charset=utf-8", f"{filename}.txt")


def _attachment(body: str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body.encode("utf-8"), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
