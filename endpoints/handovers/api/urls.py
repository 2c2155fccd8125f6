"""The runtime API: starting handovers and driving them."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from endpoints.handovers.api.views import HandoverStartView, HandoverViewSet

router = SimpleRouter(use_regex_path=False)
router.register("handovers", HandoverViewSet, basename="handover")

urlpatterns = [
    path("endpoints/<uuid:id>/handovers/", HandoverStartView.as_view(), name="endpoint-handovers"),
    *router.urls,
]
