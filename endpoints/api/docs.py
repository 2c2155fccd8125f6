"""The views serving the OpenAPI schema and Swagger UI (``/api/schema/``, ``/api/docs/``).

Apart from ``endpoints.api.schema``: drf-spectacular's views read ``DEFAULT_SCHEMA_CLASS``
when they are defined, which is that module.
"""

from __future__ import annotations

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response


class JsonErrorsMixin:
    """Errors as JSON even where the view renders YAML or an HTML page on success."""

    http_method_names = ["get", "head"]

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response


class SchemaView(JsonErrorsMixin, SpectacularAPIView):
    """The OpenAPI document (YAML, or JSON with ``?format=json``)."""


class SwaggerView(JsonErrorsMixin, SpectacularSwaggerView):
    """Swagger UI, its assets from our static files (``drf_spectacular_sidecar``)."""
