from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from endpoints.admin_overview import handover_overview
from endpoints.api.docs import RedocView, SchemaView, SwaggerView
from endpoints.api.transactions import outside_atomic_requests
from endpoints.providers import provider_api_urlpatterns, provider_urlpatterns

admin.site.site_header = "Handover Portal"
admin.site.site_title = "Handover Portal"
admin.site.index_title = "Administration"

# The API (and its schema and docs) runs outside ATOMIC_REQUESTS; the admin keeps it.
api_v1 = outside_atomic_requests(
    [
        path("", include("endpoints.api.urls")),
        path("", include("endpoints.handovers.api.urls")),
        *provider_api_urlpatterns(),
    ]
)
api_docs = outside_atomic_requests(
    [
        path("api/schema/", SchemaView.as_view(), name="api-schema"),
        path("api/docs/", SwaggerView.as_view(url_name="api-schema"), name="api-docs"),
        path("api/redoc/", RedocView.as_view(url_name="api-schema"), name="api-redoc"),
    ]
)

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    # Before the admin's own: its catch-all would take the path.
    path(
        "admin/handover-overview/",
        admin.site.admin_view(handover_overview),
        name="handover-overview",
    ),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"))),
    # Each provider's own URLs (its service's webhooks) at /<its url_prefix>/.
    *provider_urlpatterns(),
    *api_docs,
]

# JSON errors under /api/, Django's pages elsewhere.
handler400 = "endpoints.api.exceptions.bad_request"
handler403 = "endpoints.api.exceptions.permission_denied"
handler404 = "endpoints.api.exceptions.page_not_found"
handler500 = "endpoints.api.exceptions.server_error"
