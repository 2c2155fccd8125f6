"""Typed keys under which the application holds the world and the open event streams."""

from __future__ import annotations

from aiohttp import web

from genesys.sandbox.events import EventStreams
from genesys.sandbox.state import SandboxState

STATE = web.AppKey("state", SandboxState)
STREAMS = web.AppKey("streams", EventStreams)
