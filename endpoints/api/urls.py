from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from endpoints.api.metrics import EndpointMetricsView
from endpoints.api.views import EndpointViewSet
from endpoints.handovers.api.views import HandoverStartView, HandoverViewSet

router = SimpleRouter(use_regex_path=False)
router.register("endpoints", EndpointViewSet, basename="endpoint")
router.register("handovers", HandoverViewSet, basename="handover")

urlpatterns = [
    path("endpoints/<uuid:id>/handovers/", HandoverStartView.as_view(), name="endpoint-handovers"),
    path("endpoints/<uuid:id>/metrics/", EndpointMetricsView.as_view(), name="endpoint-metrics"),
    *router.urls,
]
