"""The desk's calls to us: ``POST /<url_prefix>/<endpoint public id>/events/``.

The body is one desk event with the conversation it is about (``{"conversation": …,
"event": {"id", "type", …}}``), signed with the endpoint's API token:
``X-Desk-Signature: sha256=<hex HMAC-SHA256 of the raw body>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from endpoints.fields import SecretUnreadable
from endpoints.models import Handover
from tests.desk_provider.events import record_desk_event
from tests.desk_provider.models import DeskSettings
from tests.desk_provider.providers import DeskProvider

SIGNATURE_HEADER = "X-Desk-Signature"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@csrf_exempt
@require_POST
def events_webhook(request: HttpRequest, endpoint_id: uuid.UUID) -> JsonResponse:
    desk = DeskSettings.objects.filter(endpoint__public_id=endpoint_id).first()
    try:
        secret = desk.api_token if desk is not None else ""
    except SecretUnreadable:
        secret = ""
    given = request.headers.get(SIGNATURE_HEADER, "")
    if not secret or not hmac.compare_digest(signature(secret, request.body), given):
        return JsonResponse({"error": "unknown endpoint or bad signature"}, status=403)
    try:
        payload = json.loads(request.body)
        conversation, event = uuid.UUID(str(payload["conversation"])), dict(payload["event"])
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "expected {conversation, event}"}, status=400)
    handover = Handover.objects.filter(
        endpoint=desk.endpoint, public_id=conversation, provider=DeskProvider.id
    ).first()
    if handover is None:
        return JsonResponse({"done": "no such handover"})
    return JsonResponse({"done": record_desk_event(handover.pk, event)})
