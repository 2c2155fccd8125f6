"""Genesys Cloud's calls to us: the Open Messaging webhooks."""

from __future__ import annotations

from django.urls import path

from genesys.open_messaging import webhooks

app_name = "genesys"

urlpatterns = [
    path("open-messaging/<str:token>/webhook/", webhooks.message_webhook, name="om-webhook"),
    path("open-messaging/<str:token>/end/", webhooks.end_webhook, name="om-end"),
]
