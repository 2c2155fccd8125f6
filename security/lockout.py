"""django-axes wiring: whom a failed login counts against, and the page a locked client gets.

Failures count per (username, client address). The username is case-folded first, so
``Admin``, ``ADMIN`` and ``admin`` share one counter: changing the case never buys more
attempts. Behind reverse proxies, ``TRUSTED_PROXY_COUNT`` says how many of them append to
``X-Forwarded-For``; the client address is then the one the outermost proxy saw.
"""

from __future__ import annotations

import unicodedata
from datetime import timedelta

from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def normalize_username(username: str) -> str:
    """One spelling per username for counting failures: NFKC (as Django stores usernames),
    then case-folded."""
    return unicodedata.normalize("NFKC", username).casefold()


def lockout_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """``AXES_USERNAME_CALLABLE``: the attempted username, normalised (axes' own lookup:
    the credentials, else the login form's field)."""
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        username = credentials.get(field)
    else:
        username = getattr(request, "data", request.POST).get(field)
    return normalize_username(username) if isinstance(username, str) else None


def client_ip(request: HttpRequest) -> str | None:
    """``AXES_CLIENT_IP_CALLABLE``: ``REMOTE_ADDR``, or behind ``TRUSTED_PROXY_COUNT``
    proxies the address the outermost of them received the connection from.

    Each proxy appends the address it was called from to ``X-Forwarded-For``, so with N
    proxies the client is the N-th entry from the right; entries left of it are the
    client's own and may be forged. A request with fewer entries did not come through all
    the proxies: its ``REMOTE_ADDR`` is used.
    """
    count = settings.TRUSTED_PROXY_COUNT
    remote = request.META.get("REMOTE_ADDR")
    if count <= 0:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    entries = [entry.strip() for entry in forwarded.split(",") if entry.strip()]
    if len(entries) < count:
        return remote
    return entries[-count]


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``: the admin-styled page saying for how long, and who can
    unlock it sooner."""
    cool_off: timedelta | None = get_cool_off(request)
    context = {
        **admin.site.each_context(request),
        "title": "Login locked",
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cooloff_minutes": int(cool_off / timedelta(minutes=1)) if cool_off else None,
    }
    return render(
        request, "security/lockout.html", context, status=settings.AXES_HTTP_RESPONSE_CODE
    )
