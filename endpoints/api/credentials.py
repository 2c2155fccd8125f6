"""Verified API credentials kept briefly in Django's cache (``API_CREDENTIAL_CACHE_SECONDS``).

Every API request verifies its credential: a channel API key (a query and a SHA-512 of the
key) or a DRF token (a query joining its user). For ``API_CREDENTIAL_CACHE_SECONDS`` (10;
0 keeps none) after a key or token was verified, the same key or token is taken from the
cache instead: one round trip to Redis, no query.

- The cache key is an HMAC of the presented key (under ``SECRET_KEY``), never the key;
  the entry holds what the request needs and nothing secret: a channel key's prefix,
  name, dates and channel; a token's user's id, username, flags and permissions. Neither
  the key, nor its hash, nor the user's password hash is in it.
- Saving or deleting a channel key, its channel, a token or its user (the admin's revoke,
  deactivating a user) deletes the entries of that key or user at once, in every process
  sharing the cache (an index entry per key prefix and per user names them). What escapes
  that (a ``QuerySet.update()`` elsewhere; a revocation while a request is between its
  query and its write to the cache) takes effect within the window. An expiry date is
  checked on every request, cached or not.
- A token's entry holds its user's permissions too (the query ``security.backends`` makes
  once per request), under a generation that any change of a user's or group's
  permissions or memberships renews: the next request of every token loads them again.
- ``last_used_at`` is still written at most once a minute (``ChannelAPIKey.record_use``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils.crypto import salted_hmac
from rest_framework.authtoken.models import Token, TokenProxy

from endpoints.models import Channel, ChannelAPIKey, StaffToken
from security import backends

API_KEY = "api-key"  # the kinds of credential, in the cache keys
TOKEN = "token"  # noqa: S105 (a name, not a secret)

#: What is kept of a channel key (never ``id`` nor ``hashed_key``: they hold its hash).
API_KEY_FIELDS = ("prefix", "name", "created", "revoked", "expiry_date", "last_used_at")


def _seconds() -> int:
    return int(settings.API_CREDENTIAL_CACHE_SECONDS)


def _entry_key(kind: str, presented: str) -> str:
    digest = salted_hmac("endpoints.api.credentials", presented, algorithm="sha256")
    return f"api-credential:{kind}:{digest.hexdigest()}"


def _index_key(kind: str, owner: object) -> str:
    return f"api-credential-of:{kind}:{owner}"


def _put(kind: str, presented: str, owner: object, entry: dict[str, Any]) -> None:
    seconds = _seconds()
    if seconds > 0:
        key = _entry_key(kind, presented)
        cache.set_many({key: entry, _index_key(kind, owner): key}, timeout=seconds)


def _get(kind: str, presented: str) -> dict[str, Any] | None:
    return cache.get(_entry_key(kind, presented)) if _seconds() > 0 else None


def forget(kind: str, owners: Iterable[object]) -> None:
    """Delete the entries of these key prefixes (``API_KEY``) or user ids (``TOKEN``): now,
    and again when the current transaction commits (a request that read the row before
    the commit may have put it back meanwhile)."""
    index = [_index_key(kind, owner) for owner in owners]
    if not index:
        return

    def delete() -> None:
        cache.delete_many([*cache.get_many(index).values(), *index])

    delete()
    if connection.in_atomic_block:
        transaction.on_commit(delete)


def _instance(model: type[Model], values: dict[str, Any]) -> Any:
    """A ``model`` instance as loaded from the database with only these fields (the others
    deferred: they load if read, and ``save()`` writes only these)."""
    names = [field.attname for field in model._meta.concrete_fields if field.attname in values]
    return model.from_db(DEFAULT_DB_ALIAS, names, [values[name] for name in names])


# --- Channel API keys


def remember_api_key(presented: str, api_key: ChannelAPIKey) -> None:
    entry = {name: getattr(api_key, name) for name in API_KEY_FIELDS}
    entry["channel"] = {"id": api_key.channel.pk, "name": api_key.channel.name}
    _put(API_KEY, presented, api_key.prefix, entry)


def recalled_api_key(presented: str) -> ChannelAPIKey | None:
    """The key verified for ``presented`` within the window, with its channel, or ``None``."""
    entry = _get(API_KEY, presented)
    if entry is None:
        return None
    channel = _instance(Channel, entry["channel"])
    api_key = _instance(
        ChannelAPIKey,
        {**{name: entry[name] for name in API_KEY_FIELDS}, "channel_id": channel.pk},
    )
    api_key.channel = channel
    return api_key


# --- DRF tokens


def _user_fields() -> list[str]:
    users = get_user_model()
    return [users._meta.pk.attname, users.USERNAME_FIELD, "is_active", "is_staff", "is_superuser"]


#: Changes whenever any user's or group's permissions or memberships change: a token's
#: entry holds its user's permissions as they were under one value of it.
PERMISSIONS_GENERATION = "api-credential-permissions-generation"


def _permissions_generation() -> str:
    """The current generation, made when there is none (never evicted into a match)."""
    generation = cache.get(PERMISSIONS_GENERATION)
    if generation is None:
        cache.add(PERMISSIONS_GENERATION, uuid.uuid4().hex, timeout=None)
        generation = cache.get(PERMISSIONS_GENERATION)
    return generation


def remember_token(presented: str, token: Token) -> None:
    """Keep the token, its user and the user's permissions (``security.backends``: loaded
    once for the request anyway)."""
    if _seconds() <= 0:
        return
    entry = {
        "created": token.created,
        "user": {name: getattr(token.user, name) for name in _user_fields()},
        "generation": _permissions_generation(),
        "permissions": sorted(token.user.get_all_permissions()),
    }
    _put(TOKEN, presented, token.user.pk, entry)


def recalled_token(presented: str) -> Token | None:
    """The token verified for ``presented`` within the window, with its user and the
    user's permissions (its other fields, the password's hash among them, load from the
    database if ever read); ``None`` when not kept, or kept before a permission changed."""
    if _seconds() <= 0:
        return None
    key = _entry_key(TOKEN, presented)
    found = cache.get_many([key, PERMISSIONS_GENERATION])  # one round trip
    entry = found.get(key)
    if entry is None or entry["generation"] != found.get(PERMISSIONS_GENERATION):
        return None
    user: AbstractBaseUser = _instance(get_user_model(), entry["user"])
    backends.remembered_permissions(user, entry["permissions"])
    created: datetime = entry["created"]
    return Token(key=presented, user=user, created=created)


# --- What makes an entry wrong: the key, its channel, the token or its user changed


def _key_changed(sender: type[Model], instance: ChannelAPIKey, **kwargs: Any) -> None:
    forget(API_KEY, [instance.prefix])


def _channel_saved(sender: type[Model], instance: Channel, **kwargs: Any) -> None:
    # Its keys' entries carry its name. Deleting it deletes its keys: _key_changed.
    forget(API_KEY, instance.api_keys.values_list("prefix", flat=True))


def _token_changed(sender: type[Model], instance: Token, **kwargs: Any) -> None:
    forget(TOKEN, [instance.user_id])


def _user_changed(sender: type[Model], instance: AbstractBaseUser, **kwargs: Any) -> None:
    if kwargs.get("update_fields") == frozenset({"last_login"}):
        return  # a login: nothing an entry holds
    forget(TOKEN, [instance.pk])


def _permissions_changed(**kwargs: Any) -> None:
    """Someone's permissions may differ now: every token's entry is out of date."""

    def renew() -> None:
        cache.set(PERMISSIONS_GENERATION, uuid.uuid4().hex, timeout=None)

    renew()
    if connection.in_atomic_block:
        transaction.on_commit(renew)


def connect_signals() -> None:
    """Forget entries when what they hold changes (``EndpointsConfig.ready``)."""
    for signal in (post_save, post_delete):
        signal.connect(_key_changed, sender=ChannelAPIKey, dispatch_uid=f"{signal}-api-key")
        # DRF's token and its proxies: a proxy's signals name the proxy as their sender.
        for model in (Token, TokenProxy, StaffToken):
            signal.connect(_token_changed, sender=model, dispatch_uid=f"{signal}-{model}")
        signal.connect(_user_changed, sender=get_user_model(), dispatch_uid=f"{signal}-user")
    post_save.connect(_channel_saved, sender=Channel, dispatch_uid="post_save-channel")
    users = get_user_model()
    for through in (
        users.user_permissions.through,
        users.groups.through,
        Group.permissions.through,
    ):
        m2m_changed.connect(_permissions_changed, sender=through, dispatch_uid=f"m2m-{through}")
    for model in (Group, Permission):
        post_delete.connect(_permissions_changed, sender=model, dispatch_uid=f"delete-{model}")
