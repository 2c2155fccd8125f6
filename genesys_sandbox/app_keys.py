"""Typed keys under which the application holds the world and the open event streams."""

from __future__ import annotations

from aiohttp import web

from genesys_sandbox.events import EventStreams
from genesys_sandbox.open_messaging_models import OpenMessagingWorld
from genesys_sandbox.state import SandboxState
from genesys_sandbox.webhooks import WebhookDeliverer

STATE = web.AppKey("state", SandboxState)
STREAMS = web.AppKey("streams", EventStreams)
OPEN_MESSAGING = web.AppKey("open_messaging", OpenMessagingWorld)
WEBHOOKS = web.AppKey("webhooks", WebhookDeliverer)
# Notifications API sockets, keyed by notification channel id.
NOTIFICATION_STREAMS = web.AppKey("notification_streams", EventStreams)
