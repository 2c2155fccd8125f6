"""How big each fault scenario runs: ``FAULTS_SIZE=full`` (``make faults``) or ``reduced``
(the default, part of ``make test``). Every count and duration of the suite is here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    name: str
    # 1. Workers killed with -9 while user messages are relayed.
    crash_handovers: int
    crash_messages: int  # in all, spread over the handovers
    crash_send_seconds: float  # the messages are queued over this long
    crash_kill_every_seconds: float
    # 2. Sends slower than the lease, and a 429 storm. Fewer handovers than the stack's
    # worker processes (two workers of two), so that a free one can take over a lease.
    lease_handovers: int
    lease_messages: int  # per handover
    lease_slow_sends: int  # per handover: sends whose 429 retries outlast the lease
    storm_seconds: float
    # 3. The Redis broker stopped and started again.
    outage_handovers: int
    outage_seconds: float
    # 4. The relay killed and started again; two replicas.
    relay_handovers: int
    relay_agent_messages: int  # per handover, across the crash
    relay_down_seconds: float
    replica_agent_messages: int  # per handover, with two replicas
    # 5. Genesys answering 429, 503, slowly, and refusing an expired token (Open Messaging).
    om_handovers: int
    om_rate_limited_seconds: float
    om_unavailable_seconds: float
    om_slow_seconds: float
    # 6. The channel's callback receiver down.
    callback_messages: int
    callback_outage_seconds: float
    # 7. A poisoned Open Messaging webhook.
    poison_later_messages: int
    # 8. Ending while the broker is down.
    end_outage_seconds: float
    # 9. The web chat guest API's reads answering 429, 503 and slowly while streams drop.
    stream_handovers: int
    stream_rate_limited_seconds: float
    stream_unavailable_seconds: float
    stream_slow_seconds: float


SIZES = {
    "reduced": Size(
        name="reduced",
        crash_handovers=10,
        crash_messages=150,
        crash_send_seconds=8,
        crash_kill_every_seconds=2,
        lease_handovers=3,
        lease_messages=8,
        lease_slow_sends=2,
        storm_seconds=3,
        outage_handovers=3,
        outage_seconds=4,
        relay_handovers=3,
        relay_agent_messages=8,
        relay_down_seconds=2,
        replica_agent_messages=3,
        om_handovers=3,
        om_rate_limited_seconds=3,
        om_unavailable_seconds=1.5,
        om_slow_seconds=2,
        callback_messages=4,
        callback_outage_seconds=3,
        poison_later_messages=3,
        end_outage_seconds=2,
        stream_handovers=3,
        stream_rate_limited_seconds=3,
        stream_unavailable_seconds=3,
        stream_slow_seconds=2,
    ),
    "full": Size(
        name="full",
        crash_handovers=50,
        crash_messages=1000,
        crash_send_seconds=40,
        crash_kill_every_seconds=3,
        lease_handovers=3,
        lease_messages=40,
        lease_slow_sends=6,
        storm_seconds=10,
        outage_handovers=10,
        outage_seconds=20,
        relay_handovers=10,
        relay_agent_messages=40,
        relay_down_seconds=5,
        replica_agent_messages=10,
        om_handovers=8,
        om_rate_limited_seconds=8,
        om_unavailable_seconds=2,
        om_slow_seconds=5,
        callback_messages=20,
        callback_outage_seconds=4,
        poison_later_messages=10,
        end_outage_seconds=5,
        stream_handovers=8,
        stream_rate_limited_seconds=8,
        stream_unavailable_seconds=8,
        stream_slow_seconds=5,
    ),
}

SIZE = SIZES[os.environ.get("FAULTS_SIZE", "reduced")]

#: The guarantee of scenario 3 (and of 8's disconnect): work resumes this soon after the
#: broker is back.
RESUME_SECONDS = 30.0
