"""The admin, served by gunicorn: the handover sessions changelist over ``size.admin_rows``
sessions and one session's page with a ``size.admin_transcript``-message transcript,
logged in as a superuser: time (sequential requests, median and worst) and SQL statements,
against the admin index served by the same process.
"""

from __future__ import annotations

import re
import statistics
import time

import requests

from bench.services import Services
from bench.sizes import Size
from bench.stack import BenchStack
from bench.stats import heading, note, row

REPEAT = 10


def login(url: str, username: str, password: str) -> requests.Session:
    http = requests.Session()
    page = http.get(f"{url}/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if token is None:
        raise RuntimeError(f"no login form at /admin/login/ ({page.status_code})")
    answer = http.post(
        f"{url}/admin/login/",
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": token.group(1),
            "next": "/admin/",
        },
        headers={"Referer": f"{url}/admin/login/"},
        allow_redirects=False,
    )
    if answer.status_code != 302:
        raise RuntimeError(f"the admin login answered {answer.status_code}")
    return http


def timed(http: requests.Session, url: str) -> tuple[list[float], str, int]:
    samples, queries, size = [], "?", 0
    http.get(url).raise_for_status()  # warm up
    for _ in range(REPEAT):
        started = time.perf_counter()
        response = http.get(url)
        samples.append(time.perf_counter() - started)
        response.raise_for_status()
        queries, size = response.headers.get("X-Bench-Queries", "?"), len(response.content)
    return samples, queries, size


def run(services: Services, size: Size) -> None:
    heading(
        f"Admin pages ({size.admin_rows:,} handover sessions, a {size.admin_transcript:,}-message "
        "transcript)"
    )
    with BenchStack("admin", services) as stack:
        seeded = stack.seed(
            "admin", "--rows", str(size.admin_rows), "--transcript", str(size.admin_transcript)
        )
        url = stack.start_web()
        http = login(url, seeded["username"], seeded["password"])
        session = f"/admin/endpoints/handover/{seeded['session']}/change/"
        pages = [
            ("admin index (the floor)", "/admin/"),
            ("handover sessions changelist", "/admin/endpoints/handover/"),
            ("one session page (the transcript)", session),
        ]
        row("", "median", "worst", "SQL", "KiB", "ratio")
        floor = None
        for label, path in pages:
            samples, queries, body = timed(http, f"{url}{path}")
            median = statistics.median(samples)
            floor = floor or median
            row(label, f"{median * 1000:,.0f} ms", f"{max(samples) * 1000:,.0f} ms", queries,
                f"{body / 1024:,.0f}", f"{median / floor:.1f}x")  # fmt: skip
        note(f"{REPEAT} sequential requests each, after one untimed")
