"""What Open Messaging messages carry besides their text: attachments, quick replies, cards.

Agent → user: an attachment arrives as ``type: "Text"`` with ``content: [{"contentType":
"Attachment", "attachment": {…}}]`` and often no text; quick replies and cards as ``type:
"Structured"`` (``QuickReply``, ``Card``, ``Carousel``: the SDK's
``ConversationMessageContent``). ``agent_content`` turns them into the event's data.
User → agent: attachments by URL (the SDK's ``OpenInboundMessageContent``), built by
``inbound_content``. Whatever the payload holds, a field of the wrong type is left out,
strings are bounded and so is the number of items: nothing here raises.
"""

from __future__ import annotations

from typing import Any

MAX_ITEMS = 20
MAX_TEXT = 2000
MAX_URL = 2048


def _text(value: Any, limit: int = MAX_TEXT) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _objects(value: Any) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else []
    return [item for item in items if isinstance(item, dict)][:MAX_ITEMS]


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _attachment(value: dict[str, Any]) -> dict[str, Any] | None:
    url = _text(value.get("url"), MAX_URL)
    if url is None:
        return None
    size = value.get("contentSizeBytes")
    return _drop_none(
        {
            "url": url,
            "mime": _text(value.get("mime"), 255),
            "filename": _text(value.get("filename"), 255),
            "size": size if isinstance(size, int) and not isinstance(size, bool) else None,
            "media_type": _text(value.get("mediaType"), 40),
        }
    )


def _action(value: dict[str, Any]) -> dict[str, Any]:
    return _drop_none(
        {
            "type": _text(value.get("type"), 40),
            "text": _text(value.get("text")),
            "url": _text(value.get("url"), MAX_URL),
            "payload": _text(value.get("payload")),
        }
    )


def _card(value: dict[str, Any]) -> dict[str, Any]:
    """A card as its text and links: title, description, image, and its actions."""
    actions = [_action(action) for action in _objects(value.get("actions"))]
    default = value.get("defaultAction")
    return _drop_none(
        {
            "title": _text(value.get("title")),
            "description": _text(value.get("description")),
            "image": _text(value.get("image"), MAX_URL),
            "url": _action(default).get("url") if isinstance(default, dict) else None,
            "actions": actions or None,
        }
    )


def agent_content(payload: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """``attachments``, ``quick_replies`` and ``cards`` of an outbound message (each only
    when present), for the agent message event."""
    attachments: list[dict[str, Any]] = []
    quick_replies: list[dict[str, Any]] = []
    cards: list[dict[str, Any]] = []
    for item in _objects(payload.get("content")):
        kind = item.get("contentType")
        if kind == "Attachment" and isinstance(item.get("attachment"), dict):
            if (attachment := _attachment(item["attachment"])) is not None:
                attachments.append(attachment)
        elif kind == "QuickReply" and isinstance(item.get("quickReply"), dict):
            reply = item["quickReply"]
            if (text := _text(reply.get("text"))) is not None:
                quick_replies.append(
                    _drop_none({"text": text, "payload": _text(reply.get("payload"))})
                )
        elif kind == "Card" and isinstance(item.get("card"), dict):
            cards.append(_card(item["card"]))
        elif kind == "Carousel" and isinstance(item.get("carousel"), dict):
            cards.extend(_card(card) for card in _objects(item["carousel"].get("cards")))
    found = {"attachments": attachments, "quick_replies": quick_replies, "cards": cards[:MAX_ITEMS]}
    return {key: value for key, value in found.items() if value}


def media_type(mime: str) -> str:
    """Genesys's ``mediaType`` of an attachment: ``Image``, ``Video``, ``Audio`` or ``File``."""
    kind = mime.split("/", 1)[0].lower()
    return {"image": "Image", "video": "Video", "audio": "Audio"}.get(kind, "File")


def inbound_content(attachments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The inbound message's ``content`` for the user's attachments (already validated)."""
    return [
        {
            "contentType": "Attachment",
            "attachment": _drop_none(
                {
                    "mediaType": media_type(attachment["mime"]),
                    "url": attachment["url"],
                    "mime": attachment["mime"],
                    "filename": attachment.get("filename") or None,
                }
            ),
        }
        for attachment in attachments
    ]
