"""What the code under test published to the ``memory://`` broker (``tests/conftest.py``)."""

from __future__ import annotations

import base64
import json

from kombu.transport import memory


def published() -> list[tuple[str, list]]:
    """The tasks published since the last call, oldest first: ``(task name, args)``."""
    taken = []
    for queue in memory.Channel.queues.values():
        while not queue.empty():
            message = queue.get_nowait()
            args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            taken.append((message["headers"]["task"], args))
    return taken
