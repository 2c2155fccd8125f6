"""Mounted by the project from the registry at ``/<url_prefix>/`` (``DeskProvider.urls``)."""

from __future__ import annotations

from django.urls import path

from tests.desk_provider.webhooks import events_webhook

app_name = "desk_provider"

urlpatterns = [path("<uuid:endpoint_id>/events/", events_webhook, name="events")]
