"""The views serving the OpenAPI schema, Swagger UI and Redoc (``/api/schema/``,
``/api/docs/``, ``/api/redoc/``), to who may view endpoints (``ReadAPIDocs``).

Apart from ``endpoints.api.schema``: drf-spectacular's views read ``DEFAULT_SCHEMA_CLASS``
when they are defined, which is that module.
"""

from __future__ import annotations

from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from endpoints.api.permissions import ReadAPIDocs


class DocsViewMixin:
    """GET only, read with ``ReadAPIDocs``; errors as JSON even where the view renders YAML
    or an HTML page on success.
    """

    http_method_names = ["get", "head"]
    permission_classes = [ReadAPIDocs]

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response


class SchemaView(DocsViewMixin, SpectacularAPIView):
    """The OpenAPI document (YAML, or JSON with ``?format=json``)."""


class SwaggerView(DocsViewMixin, SpectacularSwaggerView):
    """Swagger UI, its assets from our static files (``drf_spectacular_sidecar``)."""


class RedocView(DocsViewMixin, SpectacularRedocView):
    """Redoc, its assets from our static files (``drf_spectacular_sidecar``)."""
