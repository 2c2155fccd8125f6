"""The admin's password login, whatever the case of the username."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest


class CaseInsensitiveModelBackend(ModelBackend):
    """Django's ``ModelBackend``, finding ``Admin`` when ``admin`` logs in.

    The exact username wins; otherwise the one user whose username differs only in case.
    Two users that differ only in case (``Admin``, ``ADMIN``) are each reached by their
    exact name alone, never by a third spelling.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> AbstractBaseUser | None:
        users = get_user_model()
        if username is None:
            username = kwargs.get(users.USERNAME_FIELD)
        if username is None or password is None:
            return None
        user = find_user(username)
        if user is None:
            # Hash anyway, so an unknown username takes as long as a wrong password.
            users().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


def find_user(username: str) -> AbstractBaseUser | None:
    """The user named ``username`` exactly, else the only one named so in another case."""
    users = get_user_model()
    manager = users._default_manager
    try:
        return manager.get_by_natural_key(username)
    except users.DoesNotExist:
        pass
    matches = list(manager.filter(**{f"{users.USERNAME_FIELD}__iexact": username})[:2])
    return matches[0] if len(matches) == 1 else None
