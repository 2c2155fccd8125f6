"""Answers the operations paths first, before every other middleware.

Orchestrators probe a pod by its IP address over plain HTTP: ahead of ``SecurityMiddleware``
(the HTTPS redirect) and ``CommonMiddleware`` (``ALLOWED_HOSTS``), those requests are
answered instead of redirected or refused. No session, no CSRF, no database transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from ops import health, metrics

ROUTES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/health/live": health.live,
    "/health/ready": health.ready,
    "/metrics": metrics.metrics,
}


class OperationsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = ROUTES.get(request.path_info.rstrip("/") or "/")
        if view is None:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            response = HttpResponse(status=405)
            response["Allow"] = "GET, HEAD"
            return response
        return view(request)
