from __future__ import annotations

from rest_framework.routers import SimpleRouter

from endpoints.api.views import EndpointViewSet

router = SimpleRouter(use_regex_path=False)
router.register("endpoints", EndpointViewSet, basename="endpoint")

urlpatterns = router.urls
