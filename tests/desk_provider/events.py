"""What the desk says about a conversation (agent events), recorded for the channel.

Both ways in use it: the relay listener's polls and the desk's webhook. Every desk event
has an id, recorded once (``external_id``), so hearing it twice, or again after a relay
replica took the handover over and read the history from the start, changes nothing.
"""

from __future__ import annotations

from typing import Any

from endpoints.handovers.services import handover_end, handover_event_record
from endpoints.models import EndReason, EventKind

#: Desk event type → our event kind (the end is not an event the channel polls for: the
#: handover ends, which records ``ended``).
KINDS = {
    "agent_joined": EventKind.AGENT_JOINED,
    "agent_message": EventKind.AGENT_MESSAGE,
    "agent_typing": EventKind.AGENT_TYPING,
    "agent_left": EventKind.AGENT_LEFT,
}
ENDED = "conversation_ended"


def record_desk_event(handover_id: int, event: dict[str, Any]) -> str:
    """Record one desk event of the handover; a word on what was done."""
    kind = str(event.get("type", ""))
    if kind == ENDED:
        ended = handover_end(handover_id=handover_id, reason=EndReason.AGENT_LEFT, disconnect=False)
        return "ended" if ended else "ended already"
    if kind not in KINDS:
        return f"ignored {kind[:40]!r}"
    data = {"agent_name": str(event.get("agent", ""))[:255]}
    if kind == "agent_message":
        data["text"] = str(event.get("text", ""))
    recorded = handover_event_record(
        handover_id=handover_id,
        kind=KINDS[kind],
        data=data,
        external_id=f"desk:{str(event.get('id', ''))[:200]}",
        activity=kind == "agent_message",
    )
    return kind if recorded else "duplicate"
