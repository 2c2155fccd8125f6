"""The floors of the configuration read: as little as Django, and DRF with a token, do."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


def bare_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


class BareTokenView(APIView):
    """DRF's token authentication and JSON renderer, nothing else (no throttle)."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer]
    throttle_classes: list[type] = []

    def get(self, request: Request) -> Response:
        return Response({"ok": True, "user": request.user.pk})
