"""Admin sessions end after ``ADMIN_SESSION_IDLE_MINUTES`` without a request.

The session's expiry (``SESSION_COOKIE_AGE``) is the idle time plus the refresh interval,
and each authenticated request renews it, at most once per ``REFRESH_SECONDS`` (so that
reading pages does not cost a session write each). The time of that renewal is kept in the
session: a request that comes longer than the idle time after it is logged out, whatever
the session backend does with expiry.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

#: The session key holding when the session was last renewed (seconds since the epoch).
LAST_SEEN_KEY = "_security_last_seen"
#: Sent by pages that poll by themselves: such a request never renews the session, so a
#: page left open does not keep its admin logged in.
BACKGROUND_POLL_HEADER = "X-Background-Poll"
#: A session is renewed at most this often.
REFRESH_SECONDS = 60


def idle_seconds() -> int:
    return settings.ADMIN_SESSION_IDLE_MINUTES * 60


def session_cookie_age(idle_minutes: int) -> int:
    """``SESSION_COOKIE_AGE`` for an idle timeout: the session outlives the last renewal
    by the idle time plus the refresh interval, so the middleware decides."""
    return idle_minutes * 60 + REFRESH_SECONDS


@receiver(user_logged_in)
def _seen_at_login(*, request: HttpRequest, user: AbstractBaseUser, **kwargs: object) -> None:
    # The login is the first activity (and saves the session anyway).
    if hasattr(request, "session"):
        request.session[LAST_SEEN_KEY] = int(time.time())


class IdleSessionMiddleware:
    """Logs out a session idle for longer than ``ADMIN_SESSION_IDLE_MINUTES``; renews it
    otherwise. After ``AuthenticationMiddleware``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if auth.SESSION_KEY in session:
            now = int(time.time())
            last_seen = session.get(LAST_SEEN_KEY)
            if isinstance(last_seen, int) and now - last_seen > idle_seconds():
                auth.logout(request)
                messages.info(
                    request,
                    f"Your session ended after {settings.ADMIN_SESSION_IDLE_MINUTES} minutes "
                    "without activity. Log in again.",
                )
            elif request.headers.get(BACKGROUND_POLL_HEADER):
                pass  # a page polling by itself (the live handover page) is not activity
            elif not isinstance(last_seen, int) or now - last_seen >= REFRESH_SECONDS:
                session[LAST_SEEN_KEY] = now  # saved by SessionMiddleware, with a new expiry
        return self.get_response(request)
