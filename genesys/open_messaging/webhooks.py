"""Genesys Open Messaging webhooks: agent messages (signed by Genesys) and the end of a
conversation (from a Genesys workflow's data action).

Both check who calls before anything is written: an unknown token is 404, a missing
``X-Hub-Signature-256`` 401, a wrong one 403. The end webhook also takes
``Authorization: Bearer <End Webhook Secret>``, a secret of its own: Genesys data actions
can put a credential in a header but cannot compute an HMAC of the body, and the secret
that signs agent messages must never travel in a header. The message webhook takes the
signature only. A body that is not a JSON object, one
PostgreSQL cannot store or one nested too deeply, 400. A verified agent message is stored
in the endpoint's inbox (arrival order) and the work is a Celery task (Genesys wants a
quick 200 and retries otherwise); the task takes ids, never the secret.
"""

from __future__ import annotations

import hmac
import json
import logging
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from endpoints.fields import SecretUnreadable
from genesys.models import OpenMessagingInbox, OpenMessagingSettings
from genesys.open_messaging import tasks
from genesys.open_messaging.client import SIGNATURE_HEADER, signature_valid
from genesys.open_messaging.transport import end_conversation

logger = logging.getLogger(__name__)

#: JSON nested deeper than this is refused (Genesys's messages are a few levels deep).
MAX_JSON_DEPTH = 32
TOO_DEEP = f"The body is nested more than {MAX_JSON_DEPTH} levels deep."
UNSTORABLE_TEXT = "The body holds \\u0000 or a lone surrogate in a string: it cannot be stored."


def _refuse(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def _verified(
    request: HttpRequest, token: str, *, bearer: bool = False
) -> tuple[OpenMessagingSettings, Any] | JsonResponse:
    """The settings and parsed JSON body of a correctly signed call (or, with ``bearer``,
    one carrying the End Webhook Secret), or the refusal."""
    if int(request.META.get("CONTENT_LENGTH") or 0) > settings.GENESYS_WEBHOOK_MAX_BYTES:
        return _refuse(413, "The body is too large.")
    om_settings = (
        OpenMessagingSettings.objects.filter(webhook_token=token)
        .only("pk", "webhook_secret", "end_webhook_secret", "endpoint_id")
        .first()
    )
    if om_settings is None:
        return _refuse(404, "No such webhook.")
    header = request.headers.get(SIGNATURE_HEADER, "")
    presented = _bearer(request) if bearer and not header else ""
    if not header and not presented:
        if bearer:
            return _refuse(
                401, f"Send {SIGNATURE_HEADER} or Authorization: Bearer <End Webhook Secret>."
            )
        return _refuse(401, f"The {SIGNATURE_HEADER} header is missing.")
    body = request.body
    if len(body) > settings.GENESYS_WEBHOOK_MAX_BYTES:
        return _refuse(413, "The body is too large.")
    refusal = (
        _check_bearer(om_settings, presented)
        if presented
        else _check_signature(om_settings, body, header)
    )
    if refusal is not None:
        return refusal
    try:
        payload = json.loads(body, parse_constant=_no_constant)
    except RecursionError:
        return _refuse(400, TOO_DEEP)
    except ValueError:
        return _refuse(400, "The body is not JSON.")
    if not isinstance(payload, dict):
        return _refuse(400, "The body is not a JSON object.")
    problem = unstorable(payload)
    if problem:
        return _refuse(400, problem)
    return om_settings, payload


def _check_signature(
    om_settings: OpenMessagingSettings, body: bytes, header: str
) -> JsonResponse | None:
    try:
        secret = om_settings.webhook_secret
    except SecretUnreadable:
        logger.error("Open Messaging settings %s: the webhook secret is unreadable", om_settings.pk)
        return _refuse(403, "The signature cannot be checked.")
    if not signature_valid(secret, body, header):
        logger.warning(
            "Open Messaging settings %s: a webhook call with a bad signature", om_settings.pk
        )
        return _refuse(403, "The signature does not match.")
    return None


def _bearer(request: HttpRequest) -> str:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def _check_bearer(om_settings: OpenMessagingSettings, presented: str) -> JsonResponse | None:
    try:
        secret = om_settings.end_webhook_secret
    except SecretUnreadable:
        logger.error(
            "Open Messaging settings %s: the end webhook secret is unreadable", om_settings.pk
        )
        return _refuse(403, "The End Webhook Secret cannot be checked.")
    if not secret:
        return _refuse(403, "No End Webhook Secret is set for this endpoint.")
    if not hmac.compare_digest(secret.encode("utf-8"), presented.encode("utf-8")):
        logger.warning(
            "Open Messaging settings %s: an end webhook call with a wrong secret", om_settings.pk
        )
        return _refuse(403, "The End Webhook Secret does not match.")
    return None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: PostgreSQL's jsonb refuses them


def unstorable(payload: Any) -> str:
    """Why PostgreSQL's ``jsonb`` cannot store ``payload`` (a NUL character or a lone
    surrogate in a string or key), or why we will not (nested over ``MAX_JSON_DEPTH``
    levels); empty when it can. Iterative, so no depth makes it recurse.
    """
    stack: list[tuple[Any, int]] = [(payload, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if not _storable_text(value):
                return UNSTORABLE_TEXT
            continue
        if isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                return TOO_DEEP
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
    return ""


def _storable_text(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@csrf_exempt
@require_POST
def message_webhook(request: HttpRequest, token: str) -> HttpResponse:
    """Genesys's Outbound Notification Webhook: agent messages and events, to the channel."""
    verified = _verified(request, token)
    if isinstance(verified, JsonResponse):
        return verified
    om_settings, payload = verified
    OpenMessagingInbox.objects.create(settings=om_settings, payload=payload)
    # Stored: if the broker cannot take the task now, the inbox sweep hands it over later.
    transaction.on_commit(partial(tasks.om_webhook_task.delay, om_settings.pk), robust=True)
    return HttpResponse(status=200)


@csrf_exempt
@require_POST
def end_webhook(request: HttpRequest, token: str) -> HttpResponse:
    """``{"conversationId"}``: the agent ended that conversation; end its handover
    (``agent_left``) now, in the request, so no broker outage can lose it. Idempotent: an
    ended or unknown conversation answers 200 too, with ``ended`` false. Signed, or with
    ``Authorization: Bearer <End Webhook Secret>`` (a Genesys data action).
    """
    verified = _verified(request, token, bearer=True)
    if isinstance(verified, JsonResponse):
        return verified
    om_settings, payload = verified
    conversation_id = payload.get("conversationId")
    if not isinstance(conversation_id, str) or not conversation_id or len(conversation_id) > 64:
        return _refuse(400, 'Send {"conversationId": "<Genesys conversation ID>"}.')
    return JsonResponse({"ended": end_conversation(om_settings.pk, conversation_id)})
