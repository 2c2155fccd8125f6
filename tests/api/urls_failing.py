"""A URLconf for tests only: the project's URLs plus views that crash."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request

from handover_portal import urls
from tests.factories import CLIENT_SECRET


def crash(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(f"crashed while holding {CLIENT_SECRET}")


@api_view(["GET"])
@permission_classes([AllowAny])
def crash_in_drf(request: Request) -> HttpResponse:
    raise RuntimeError(f"crashed while holding {CLIENT_SECRET}")


urlpatterns = [
    path("api/v1/crash/", crash),
    path("api/v1/crash-in-drf/", crash_in_drf),
    path("elsewhere/crash/", crash),
    *urls.urlpatterns,
]

handler400 = urls.handler400
handler403 = urls.handler403
handler404 = urls.handler404
handler500 = urls.handler500
