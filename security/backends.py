"""The admin's password login, whatever the case of the username; a user's permissions in
one query."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, Permission
from django.db.models import Model, QuerySet
from django.http import HttpRequest


class PermissionsInOneQuery(ModelBackend):
    """Django's ``ModelBackend`` loading a user's own and its groups' permissions in one
    query (a ``UNION``), not one each: every API request checks a model permission.

    The same answers and the same per-instance cache (``_perm_cache``, for the request's
    user): nothing for an inactive or anonymous user, or for an object; every permission
    for an active superuser. ``get_user_permissions`` and ``get_group_permissions`` stay
    Django's.
    """

    def get_all_permissions(
        self, user_obj: AbstractBaseUser | AnonymousUser, obj: Model | None = None
    ) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            user_obj._perm_cache = {
                f"{app_label}.{codename}" for app_label, codename in _permissions_of(user_obj)
            }
        return user_obj._perm_cache


def _permissions_of(user: AbstractBaseUser) -> QuerySet[Permission]:
    """``(app_label, codename)`` of every permission ``user`` holds, in one statement."""
    names = ("content_type__app_label", "codename")
    # Unordered: a set is made of them (and SQLite refuses ORDER BY inside a UNION).
    permissions = Permission.objects.order_by()
    if user.is_superuser:
        return permissions.values_list(*names)
    groups = get_user_model()._meta.get_field("groups")
    own = permissions.filter(user=user).values_list(*names)
    through_groups = permissions.filter(
        **{f"group__{groups.related_query_name()}": user}
    ).values_list(*names)
    return own.union(through_groups)


class CaseInsensitiveModelBackend(PermissionsInOneQuery):
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


def remembered_permissions(user: AbstractBaseUser, permissions: Iterable[str]) -> None:
    """Give ``user`` (this request's instance) the permissions an earlier request loaded
    for it (``endpoints.api.credentials``), as ``get_all_permissions`` keeps them."""
    user._perm_cache = set(permissions)
