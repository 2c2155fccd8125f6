"""The configuration API: endpoints and their metrics (the runtime API is in
``endpoints.handovers.api.urls``)."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from endpoints.api.metrics import EndpointMetricsView
from endpoints.api.views import EndpointViewSet

router = SimpleRouter(use_regex_path=False)
router.register("endpoints", EndpointViewSet, basename="endpoint")

urlpatterns = [
    path("endpoints/<uuid:id>/metrics/", EndpointMetricsView.as_view(), name="endpoint-metrics"),
    *router.urls,
]
