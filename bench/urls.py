"""The product's URLs and the floors: a bare Django JSON view and a bare DRF view with token
authentication, served by the same gunicorn as the API."""

from __future__ import annotations

from django.urls import path

from bench.views import BareTokenView, bare_json
from handover_portal.urls import handler400, handler403, handler404, handler500, urlpatterns

urlpatterns = [
    path("bench/bare-django/", bare_json),
    path("bench/bare-drf/", BareTokenView.as_view()),
    *urlpatterns,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
