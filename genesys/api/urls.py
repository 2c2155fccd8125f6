from __future__ import annotations

from rest_framework.routers import SimpleRouter

from genesys.api.views import OAuth2ConnectionViewSet

router = SimpleRouter(use_regex_path=False)
router.register("oauth2-connections", OAuth2ConnectionViewSet, basename="oauth2-connection")

urlpatterns = router.urls
