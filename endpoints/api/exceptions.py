"""JSON errors for every ``/api/`` path: DRF's exceptions, and Django's 400/403/404/500.

Every error body is ``{"detail": "…"}``, or DRF's field errors (``{"field": ["…"]}``) for a
400 on invalid input. Django's own error pages stay as they are outside ``/api/``. With
``DEBUG`` on, Django shows its debug pages for unknown URLs and crashes instead of these
handlers, as everywhere else in development.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import views
from rest_framework.exceptions import APIException
from rest_framework.response import Response

from endpoints.api.transactions import rollback_flags_kept

API_PREFIX = "/api/"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with a list of errors folded into ``{"detail": …}``.

    Anything DRF does not handle propagates, and Django answers it with ``server_error``.
    The API runs outside ``ATOMIC_REQUESTS``: DRF's rollback of "the request's transaction"
    does not apply (``endpoints.api.transactions``).
    """
    with rollback_flags_kept(context.get("request")):
        response = views.exception_handler(exc, context)
    if response is not None and isinstance(response.data, list):
        response.data = {"detail": " ".join(str(message) for message in response.data)}
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        detail = "You do not have permission to perform this action."
        return JsonResponse({"detail": detail}, status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    # Never the exception's text: it may quote data, and the traceback goes to the log.
    if _is_api(request):
        return JsonResponse({"detail": "A server error occurred."}, status=500)
    return defaults.server_error(request)


class ProviderFailed(APIException):
    """A provider's error, answered with the status the provider chose (409, 502, 503)."""

    status_code = 502
    default_detail = "The handover provider failed."
    default_code = "provider_error"

    def __init__(self, detail: str, *, status_code: int) -> None:
        super().__init__(detail)
        self.status_code = status_code


class Conflict(APIException):
    """The request is well formed but the handover's state refuses it (409)."""

    status_code = 409
    default_detail = "The handover's state does not allow this."
    default_code = "conflict"
