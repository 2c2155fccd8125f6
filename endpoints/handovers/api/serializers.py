"""Serializers of the runtime API: what a channel sends to start and drive a handover, and
what it gets back.

Input is validated at the edge and every rule is in the OpenAPI schema (lengths, counts,
patterns): text is kept exactly as sent (no trimming), control characters are refused
(PostgreSQL cannot store NUL in JSON), and a number is not a string.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.validators import MaxLengthValidator, RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from endpoints.handovers.services import MAX_MESSAGE_LENGTH
from endpoints.models import EndReason, EventKind, Handover, HandoverEvent, OutboundMessage
from endpoints.validators import printable

MAX_ID_LENGTH = 255
MAX_MAP_KEYS = 50
MAX_MAP_VALUE_LENGTH = 1000
MAX_MAP_KEY_LENGTH = 100
#: The profile and custom fields together, keys and values in UTF-8: the provider gets
#: them as routing data (Genesys Open Messaging: custom attributes), which must stay small.
MAX_ATTRIBUTES_BYTES = 8 * 1024
MAX_SKILLS = 20
MAX_ROUTING_NAME_LENGTH = 100
MAX_PRIORITY = 1_000_000
MAX_TRANSCRIPT_ENTRIES = 500
MAX_EMAIL_LENGTH = 254
#: The largest sequence number a cursor can name (the column is a PostgreSQL integer).
MAX_SEQ = 2_147_483_647
DEFAULT_EVENTS_LIMIT = 100
MAX_EVENTS_LIMIT = 500
MAX_ATTACHMENTS = 10
MAX_ATTACHMENT_URL_LENGTH = 2048
MAX_QUICK_REPLY_LENGTH = 1000

CONTROL_CHARACTERS_MESSAGE = "Remove the control characters (such as NUL) from this value."

#: One line: no control characters at all (identifiers, profile values).
one_line = RegexValidator(
    r"\A[^\x00-\x1f\x7f]*\Z", CONTROL_CHARACTERS_MESSAGE, code="control_characters"
)
#: A message: tabs and line breaks allowed, other control characters refused.
message_text = RegexValidator(
    r"\A[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*\Z", CONTROL_CHARACTERS_MESSAGE, code="control_characters"
)
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")
#: A routing name: one line, no comma (Open Messaging passes skills comma-joined).
no_comma = RegexValidator(
    r"\A[^\x00-\x1f\x7f,]*\Z",
    "Use no commas or control characters in a skill name.",
    code="skill_name",
)


class StrictCharField(serializers.CharField):
    """A string as sent: a JSON number or boolean is refused (DRF would convert it), and
    whitespace is kept (an identifier is opaque; a message's indentation may matter).
    """

    default_error_messages = {"invalid": "Not a string."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: a string or a boolean is refused (DRF would convert it)."""

    default_error_messages = {"invalid": "Not an integer."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


def identifier(help_text: str) -> StrictCharField:
    return StrictCharField(max_length=MAX_ID_LENGTH, validators=[one_line], help_text=help_text)


class StringMapField(serializers.DictField):
    """An object of strings, bounded: at most ``MAX_MAP_KEYS`` keys of at most
    ``MAX_MAP_KEY_LENGTH`` characters, values of at most ``MAX_MAP_VALUE_LENGTH``
    characters, no control characters in keys or values.
    """

    default_error_messages = {
        "not_a_dict": "Expected an object of strings.",
        "key": "Remove the control characters (such as NUL) from the key “{name}”.",
        "key_length": f"Keys have at most {MAX_MAP_KEY_LENGTH} characters: “{{name}}”.",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "child",
            StrictCharField(
                max_length=MAX_MAP_VALUE_LENGTH, allow_blank=True, validators=[one_line]
            ),
        )
        kwargs.setdefault("validators", [MaxLengthValidator(MAX_MAP_KEYS)])
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        if isinstance(data, dict):
            for key in data:
                if _CONTROL_CHARACTER.search(key):
                    self.fail("key", name=printable(key))
                if len(key) > MAX_MAP_KEY_LENGTH:
                    self.fail("key_length", name=printable(key[:MAX_MAP_KEY_LENGTH]) + "…")
        return super().to_internal_value(data)


def _string_value(max_length: int) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_length, "pattern": "^[^\\u0000-\\u001f\\u007f]*$"}


@extend_schema_field(
    {
        "type": "object",
        "description": (
            "Who the user is, for the agent (shown only if the endpoint sends profile "
            f"information). Strings only, at most {MAX_MAP_KEYS} keys of at most "
            f"{MAX_MAP_KEY_LENGTH} characters, without control characters. With the custom "
            f"fields at most {MAX_ATTRIBUTES_BYTES} bytes (UTF-8, keys and values)."
        ),
        "properties": {
            "first_name": _string_value(MAX_MAP_VALUE_LENGTH),
            "last_name": _string_value(MAX_MAP_VALUE_LENGTH),
            "email": {"type": "string", "format": "email", "maxLength": MAX_EMAIL_LENGTH},
        },
        "additionalProperties": _string_value(MAX_MAP_VALUE_LENGTH),
        "maxProperties": MAX_MAP_KEYS,
    }
)
class ProfileField(StringMapField):
    """The user's profile: strings, ``email`` (if present) an email address."""

    def to_internal_value(self, data: Any) -> dict[str, str]:
        profile = super().to_internal_value(data)
        if "email" in profile:
            email = profile["email"]
            field = serializers.EmailField(max_length=MAX_EMAIL_LENGTH)
            try:
                field.run_validation(email)
            except serializers.ValidationError as error:
                raise serializers.ValidationError({"email": error.detail}) from None
        return profile


class StrictSerializer(serializers.Serializer):
    """A request object that refuses fields it does not know: a misspelt field is a 400,
    not silently dropped. The schema says so (``additionalProperties: false``).
    """

    default_error_messages = {"unknown": "Unknown field."}
    #: Read by ``endpoints.api.schema.AutoSchema``.
    refuses_unknown_fields = True

    def to_internal_value(self, data: Any) -> Any:
        unknown = {}
        if isinstance(data, dict):
            message = self.error_messages["unknown"]
            unknown = {printable(key): [message] for key in data if key not in self.fields}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if unknown and isinstance(error.detail, dict):
                raise serializers.ValidationError({**error.detail, **unknown}) from None
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class TranscriptEntrySerializer(StrictSerializer):
    """One line of the bot conversation before the handover."""

    text = StrictCharField(min_length=1, max_length=MAX_MESSAGE_LENGTH, validators=[message_text])
    at = serializers.DateTimeField(help_text="When it was said.")

    def get_fields(self) -> dict[str, serializers.Field]:
        # `from` is a Python keyword: it cannot be a class attribute.
        return {
            "from": serializers.ChoiceField(
                choices=[("user", "user"), ("bot", "bot")], help_text="Who said it."
            ),
            **super().get_fields(),
        }


class HandoverStartSerializer(StrictSerializer):
    """A request to hand a bot conversation over to a human agent."""

    user_id = identifier("The channel's id of the user.")
    session_id = identifier(
        "The channel's id of the conversation: one open handover per endpoint and session."
    )
    profile = ProfileField(required=False, default=dict)
    custom_fields = StringMapField(
        required=False,
        default=dict,
        help_text=(
            f"Passed to the provider as they are (Genesys web chat: custom fields; Open "
            f"Messaging: custom attributes, for the inbound message flow). At most "
            f"{MAX_MAP_KEYS} keys of at most {MAX_MAP_KEY_LENGTH} characters, values of at "
            f"most {MAX_MAP_VALUE_LENGTH} characters; with the profile at most "
            f"{MAX_ATTRIBUTES_BYTES} bytes (UTF-8, keys and values)."
        ),
    )
    language = StrictCharField(
        required=False,
        max_length=MAX_ROUTING_NAME_LENGTH,
        validators=[one_line],
        help_text="Routing: the language the agent needs (Genesys: a routing language name).",
    )
    skills = serializers.ListField(
        child=StrictCharField(
            min_length=1, max_length=MAX_ROUTING_NAME_LENGTH, validators=[no_comma]
        ),
        required=False,
        max_length=MAX_SKILLS,
        help_text="Routing: the skills the agent needs (Genesys: routing skill names).",
    )
    priority = StrictIntegerField(
        required=False,
        min_value=0,
        max_value=MAX_PRIORITY,
        help_text="Routing: the conversation's priority (higher is answered sooner).",
    )
    transcript = serializers.ListField(
        child=TranscriptEntrySerializer(),
        required=False,
        default=list,
        max_length=MAX_TRANSCRIPT_ENTRIES,
        help_text="The conversation so far, oldest first: the agent sees it before anything.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        size = sum(
            len(key.encode()) + len(value.encode())
            for field in ("profile", "custom_fields")
            for key, value in attrs.get(field, {}).items()
        )
        if size > MAX_ATTRIBUTES_BYTES:
            raise serializers.ValidationError(
                {
                    "custom_fields": [
                        f"The profile and custom fields take {size} bytes: at most "
                        f"{MAX_ATTRIBUTES_BYTES} (UTF-8, keys and values)."
                    ]
                }
            )
        routing = {
            key: attrs.pop(key) for key in ("language", "skills", "priority") if key in attrs
        }
        attrs["routing"] = routing
        return attrs


class HandoverSerializer(serializers.ModelSerializer):
    """A handover as the channel sees it."""

    id = serializers.UUIDField(source="public_id", read_only=True, help_text="The handover's ID.")
    endpoint = serializers.UUIDField(
        source="endpoint.public_id", read_only=True, help_text="The endpoint's public ID."
    )
    end_reason = serializers.SerializerMethodField(
        help_text="Why it ended: `agent_left`, `user_ended`, `staff_ended`, `expired` or "
        "`error`; null while open."
    )

    class Meta:
        model = Handover
        fields = [
            "id",
            "endpoint",
            "status",
            "user_id",
            "session_id",
            "agent_name",
            "started_at",
            "last_activity_at",
            "expires_at",
            "ended_at",
            "end_reason",
        ]
        read_only_fields = fields

    @extend_schema_field(
        serializers.ChoiceField(choices=EndReason.choices, allow_null=True, read_only=True)
    )
    def get_end_reason(self, handover: Handover) -> str | None:
        return handover.end_reason or None


class AttachmentSerializer(StrictSerializer):
    """A file the user sends to the agent, by URL (the provider fetches it)."""

    url = serializers.URLField(
        max_length=MAX_ATTACHMENT_URL_LENGTH,
        help_text="Where the provider fetches the file: an http(s) URL it can reach.",
    )
    mime = StrictCharField(
        max_length=255, help_text="The file's MIME type, e.g. `image/png`: one the provider takes."
    )
    filename = StrictCharField(
        max_length=255, required=False, default="", allow_blank=True, validators=[one_line]
    )
    size = serializers.IntegerField(
        min_value=0, required=False, help_text="The file's size in bytes, when known."
    )

    def validate_url(self, value: str) -> str:
        if not value.lower().startswith(("https://", "http://")):
            raise serializers.ValidationError("Give an http or https URL.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        transport = self.context.get("transport")
        types = getattr(transport, "attachment_types", frozenset())
        mime = attrs["mime"].lower()
        if not types:
            return attrs  # no attachments at all: MessageSerializer says so, once
        if mime not in types:
            raise serializers.ValidationError(
                {"mime": f"“{printable(mime)}” is not a type this provider takes. "
                 f"Send one of: {', '.join(sorted(types))}."}
            )  # fmt: skip
        limit = getattr(transport, "attachment_max_bytes", 0)
        if attrs.get("size") is not None and attrs["size"] > limit:
            raise serializers.ValidationError(
                {"size": f"The file is larger than this provider takes ({limit} bytes)."}
            )
        return {**attrs, "mime": mime}


#: The events whose ``quick_replies`` a user may answer.
OFFERING_KINDS = (EventKind.AGENT_MESSAGE, EventKind.SYSTEM_MESSAGE)


def _quoted(options: list[dict[str, Any]]) -> str:
    return ", ".join(f"“{printable(option.get('text', ''))}”" for option in options[:10])


class QuickReplyAnswerSerializer(StrictSerializer):
    """The user's answer to a quick reply the agent (or the provider's bot) offered: an
    ``agent_message`` or ``system_message`` event's ``quick_replies``."""

    text = StrictCharField(
        max_length=MAX_QUICK_REPLY_LENGTH,
        required=False,
        default="",
        allow_blank=True,
        validators=[one_line],
        help_text="The option's text, as offered (or as the user saw it).",
    )
    payload = StrictCharField(
        max_length=MAX_QUICK_REPLY_LENGTH,
        required=False,
        default="",
        allow_blank=True,
        validators=[one_line],
        help_text="The option's payload, as offered: it picks the option when given.",
    )
    in_reply_to = StrictIntegerField(
        min_value=1,
        max_value=MAX_SEQ,
        required=False,
        help_text="The `seq` of the event offering the quick replies; by default the latest "
        "one that offered any.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        text, payload = attrs["text"], attrs["payload"]
        if not text and not payload:
            raise serializers.ValidationError(
                {"text": "Give the option's text or payload, as the quick reply offered it."}
            )
        offer = self._offer(attrs.get("in_reply_to"))
        if offer is None:
            # Nothing offered (a provider without quick replies): the answer goes as given.
            if not text:
                raise serializers.ValidationError(
                    {"text": "No quick replies were offered in this handover: give the "
                     "answer's text."}
                )  # fmt: skip
            return {"text": text, "payload": payload or text}
        options = [o for o in offer.data.get("quick_replies") or [] if isinstance(o, dict)]
        chosen = next(
            (
                option
                for option in options
                if (option.get("payload") == payload if payload else option.get("text") == text)
            ),
            None,
        )
        if chosen is None:
            hint = "" if "in_reply_to" in attrs else " Name the event it answers in in_reply_to."
            raise serializers.ValidationError(
                {"payload" if payload else "text": f"Not one of the quick replies event "
                 f"{offer.seq} offered ({_quoted(options)}).{hint}"}
            )  # fmt: skip
        text = text or str(chosen.get("text") or "")
        return {
            "text": text,
            "payload": payload or str(chosen.get("payload") or text),
            "in_reply_to": offer.seq,
            "provider_message_id": offer.external_id,
        }

    def _offer(self, seq: int | None) -> HandoverEvent | None:
        """The event whose quick replies are answered: ``seq``'s, or the latest offer."""
        handover = self.context.get("handover")
        if handover is None:
            return None
        events = handover.events.filter(kind__in=OFFERING_KINDS, data__has_key="quick_replies")
        if seq is None:
            return events.order_by("-seq").first()
        offer = events.filter(seq=seq).first()
        if offer is None:
            raise serializers.ValidationError(
                {"in_reply_to": f"Event {seq} of this handover offered no quick replies."}
            )
        return offer


class MessageSerializer(StrictSerializer):
    """A user message for the agent: a text, attachments, or both; or the answer to a quick
    reply."""

    text = StrictCharField(
        max_length=MAX_MESSAGE_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        validators=[message_text],
    )
    attachments = AttachmentSerializer(
        many=True,
        required=False,
        max_length=MAX_ATTACHMENTS,
        help_text=f"Files by URL (at most {MAX_ATTACHMENTS}), where the provider takes them "
        "(Genesys Open Messaging: its supported content profile, up to 25 MB; Genesys web chat "
        "takes none).",
    )
    quick_reply = QuickReplyAnswerSerializer(
        required=False,
        help_text="The user pressed one of the quick replies an agent or system message "
        "offered: Genesys Open Messaging gets it as a button response (a `Structured` "
        "message), web chat as the option's text. Not with `text` or `attachments`.",
    )
    client_message_id = StrictCharField(
        max_length=MAX_ID_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        validators=[one_line],
        help_text="The channel's id of the message: sending it again is accepted once.",
    )

    def validate_attachments(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        transport = self.context.get("transport")
        if value and not getattr(transport, "attachment_types", None):
            raise serializers.ValidationError(
                "This handover's provider cannot carry attachments: send a link in the text."
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        quick_reply = attrs.get("quick_reply")
        if quick_reply is not None:
            if attrs.get("text") or attrs.get("attachments"):
                raise serializers.ValidationError(
                    {"quick_reply": "An answer to a quick reply carries its own text: send "
                     "other text and attachments in a message of their own."}
                )  # fmt: skip
            return {**attrs, "text": quick_reply["text"]}
        if not attrs.get("text") and not attrs.get("attachments"):
            raise serializers.ValidationError(
                {"text": "Give the message a text, attachments, or both."}
            )
        return attrs


class MessageAcceptedSerializer(serializers.ModelSerializer):
    """A message in the handover's outbox."""

    status = serializers.ChoiceField(
        choices=OutboundMessage._meta.get_field("status").choices,
        read_only=True,
        help_text="`pending` until sent to the agent, then `sent` (or `failed`).",
    )

    class Meta:
        model = OutboundMessage
        fields = ["id", "client_message_id", "status", "created_at"]
        read_only_fields = fields


class EventSerializer(serializers.ModelSerializer):
    """Something that happened in the handover, numbered from 1."""

    data = serializers.DictField(read_only=True, help_text="Depends on the kind: see the README.")
    at = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = HandoverEvent
        fields = ["seq", "kind", "data", "at"]
        read_only_fields = fields


class EventPageSerializer(serializers.Serializer):
    events = EventSerializer(many=True, read_only=True)
    next_cursor = serializers.IntegerField(
        read_only=True,
        help_text="Pass as `after` next time: the last event's `seq`, or `after` if none.",
    )


class EventsQuery(serializers.Serializer):
    after = serializers.IntegerField(
        min_value=0,
        max_value=MAX_SEQ,
        required=False,
        default=0,
        help_text="The last `seq` seen (the `next_cursor` of the previous page); 0 from the start.",
    )
    limit = serializers.IntegerField(
        min_value=1,
        max_value=MAX_EVENTS_LIMIT,
        required=False,
        default=DEFAULT_EVENTS_LIMIT,
        help_text="At most this many events.",
    )
