"""The product's settings, plus what only the benchmarks need: SQL counted per request
(``X-Bench-Queries``) and per Celery task, and two bare views to measure floors against
(``bench/urls.py``). Every process a benchmark starts runs with these.
"""

from __future__ import annotations

import os

from handover_portal import settings as product
from handover_portal.settings import *  # noqa: F403
from handover_portal.settings import CACHES, CELERY_BROKER_URL, INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = [*INSTALLED_APPS, "bench.apps.BenchConfig"]
# First, so that it counts every query of the request, the session's and the user's too.
MIDDLEWARE = ["bench.middleware.QueryCountMiddleware", *MIDDLEWARE]
ROOT_URLCONF = "bench.urls"

if os.environ.get("BENCH_KEY_PREFIX"):
    # This run's keys only, in a Redis database others may use too (bench/services.py).
    CACHES["default"]["KEY_PREFIX"] = os.environ["BENCH_KEY_PREFIX"]
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        CELERY_BROKER_TRANSPORT_OPTIONS = {
            **getattr(product, "CELERY_BROKER_TRANSPORT_OPTIONS", {}),
            "global_keyprefix": os.environ["BENCH_KEY_PREFIX"] + ":",
        }

if CELERY_BROKER_URL.startswith("filesystem://") and os.environ.get("BENCH_BROKER_DIR"):
    # The fallback broker in the run's own folder, not the development one under .data/.
    _broker = os.environ["BENCH_BROKER_DIR"]
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": f"{_broker}/queue",
        "data_folder_out": f"{_broker}/queue",
        "processed_folder": f"{_broker}/processed",
        "store_processed": False,
    }
