"""The fault suite's Celery worker: the product's worker with one fault planted at its edge.

Every payload shape Genesys could send is now recorded or ignored without raising, so a
poison call (scenario 7) stands for what no code foresaw: the Open Messaging recorder of
this worker raises for a call whose ``id`` is ``POISON_ID``, as a bug would.
"""

from __future__ import annotations

import sys
from typing import Any

POISON_ID = "fault-suite-poison"


def plant_poison() -> None:
    import django

    django.setup()
    from genesys.open_messaging import transport as om_transport

    record = om_transport.record_webhook_message

    def poisoned(settings_id: int, payload: dict[str, Any]) -> str:
        if payload.get("id") == POISON_ID:
            raise ValueError("a webhook call no code foresaw (planted by the fault suite)")
        return record(settings_id, payload)

    om_transport.record_webhook_message = poisoned


if __name__ == "__main__":
    from celery.__main__ import main

    plant_poison()
    sys.exit(main())
