"""The per-process Prometheus instruments: what happens in a process, counted where it happens.

Genesys calls and token requests are made by the web workers, the Celery workers and the
relay alike. With ``PROMETHEUS_MULTIPROC_DIR`` set (a directory shared by the processes of
one host, emptied before they start), prometheus-client writes these to files there and
``/metrics`` sums every process's; without it each process counts its own and ``/metrics``
shows only the answering process's (README: "Health and metrics"). What the database
already knows (handovers, the outbox, callbacks, relay leases) is not counted here but read
at scrape time (``ops.collector``), so it is right whichever process did it.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

GENESYS_REQUESTS = Counter(
    "handover_portal_genesys_requests",
    "HTTP requests to Genesys Cloud, one per attempt, by method and status (or 'error': no "
    "answer).",
    ["method", "status"],
)
GENESYS_REQUEST_SECONDS = Histogram(
    "handover_portal_genesys_request_duration_seconds",
    "Time Genesys Cloud took to answer one HTTP attempt.",
    ["method"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
TOKEN_REQUESTS = Counter(
    "handover_portal_genesys_token_requests",
    "OAuth token requests to Genesys Cloud (cache misses), by outcome.",
    ["outcome"],
)
RELAY_STREAM_RECONNECTS = Counter(
    "handover_portal_relay_stream_reconnects",
    "Times the relay reconnected a web chat event stream after losing or failing it.",
)
