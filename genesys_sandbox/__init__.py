"""A local stand-in for the Genesys Cloud APIs the project uses (the "sandbox").

A standalone aiohttp application: OAuth client credentials, routing queues, queue
observations, the web chat v2 guest API with its event stream, a control API for tests
and a small agent console. No Django and no database inside; ``python -m genesys_sandbox``
starts it. For development and tests only: it is not part of the installed package.
"""

from __future__ import annotations

from genesys_sandbox.app import create_app
from genesys_sandbox.state import SandboxState

__all__ = ["SandboxState", "create_app"]
