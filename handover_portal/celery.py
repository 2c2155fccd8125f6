"""The Celery app: configured from Django settings with the ``CELERY_`` prefix."""

from __future__ import annotations

import os

from celery import Celery

from handover_portal.database import reuse_connections_between_tasks

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "handover_portal.settings")

app = Celery("handover_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
reuse_connections_between_tasks()
