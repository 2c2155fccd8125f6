"""ASGI entry point. Refuses to start on a configuration error, as runserver does."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "handover_portal.settings")

application = get_asgi_application()

from handover_portal.startup import refuse_to_start_on_errors  # noqa: E402

refuse_to_start_on_errors()
