"""Channel API keys: ``Authorization: Api-Key <key>`` authenticates a channel.

``request.user`` is then a ``ChannelPrincipal`` (what the channel may do, as permissions)
and ``request.auth`` the ``ChannelAPIKey``; ``endpoints.api.confinement`` limits every view
to the channel's endpoints. A request without that header is left to the next
authentication class (DRF tokens of staff tooling, the admin session).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request
from rest_framework_api_key.permissions import KeyParser

from endpoints.api import credentials
from endpoints.models import Channel, ChannelAPIKey

#: What every channel key may do, on its channel's endpoints only: read their configuration
#: and drive handovers. Never OAuth2 connections, never a write of configuration.
CHANNEL_PERMISSIONS = frozenset({"endpoints.view_endpoint", "endpoints.drive_handover"})

#: ``<prefix>.<secret>`` as the library generates them (letters and digits), checked before
#: any query: a NUL or a megabyte of junk never reaches the database.
KEY_FORMAT = re.compile(r"[A-Za-z0-9]{1,16}\.[A-Za-z0-9]{1,128}")
#: A DRF token's key (40 hex digits as DRF makes them; the column holds 40 characters).
TOKEN_FORMAT = re.compile(r"[A-Za-z0-9]{1,40}")

INVALID = "Invalid API key."
REVOKED = "This API key has been revoked."
EXPIRED = "This API key has expired."


class ChannelPrincipal:
    """The ``request.user`` of a channel key: authenticated, never staff, holding exactly
    ``CHANNEL_PERMISSIONS``. Throttled per channel.
    """

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.channel_id = channel.pk
        # The throttles' identity: per channel, never equal to a user's pk.
        self.pk = self.id = f"channel:{channel.pk}"

    def __str__(self) -> str:
        return f"Channel “{self.channel.name}”"

    def get_username(self) -> str:
        return str(self)

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return perm in CHANNEL_PERMISSIONS

    def has_perms(self, perm_list: Iterable[str], obj: Any = None) -> bool:
        return all(self.has_perm(perm, obj) for perm in perm_list)

    def has_module_perms(self, app_label: str) -> bool:
        return any(perm.startswith(f"{app_label}.") for perm in CHANNEL_PERMISSIONS)


class ChannelAPIKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Api-Key <key>``; an unknown, revoked or expired key is a 401 that
    says which (only the holder of the whole key learns that it was revoked or expired).

    A key verified in the last ``API_CREDENTIAL_CACHE_SECONDS`` is taken from the cache
    (``endpoints.api.credentials``): no query, no hash.
    """

    keyword = KeyParser.keyword
    key_parser = KeyParser()

    def authenticate(self, request: Request) -> tuple[ChannelPrincipal, ChannelAPIKey] | None:
        key = self.key_parser.get(request)
        if key is None:
            return None
        key = key.strip()
        api_key = credentials.recalled_api_key(key)
        if api_key is None:
            api_key = self.get_api_key(key)
            api_key.record_use()
            credentials.remember_api_key(key, api_key)
        else:
            if api_key.has_expired:  # checked on every request, cached or not
                raise exceptions.AuthenticationFailed(EXPIRED)
            if api_key.record_use():
                credentials.remember_api_key(key, api_key)  # with the new last_used_at
        return ChannelPrincipal(api_key.channel), api_key

    def get_api_key(self, key: str) -> ChannelAPIKey:
        if not KEY_FORMAT.fullmatch(key):
            raise exceptions.AuthenticationFailed(INVALID)
        prefix = key.partition(".")[0]
        try:
            api_key = ChannelAPIKey.objects.select_related("channel").get(prefix=prefix)
        except ChannelAPIKey.DoesNotExist:
            raise exceptions.AuthenticationFailed(INVALID) from None
        if not api_key.is_valid(key):
            raise exceptions.AuthenticationFailed(INVALID)
        if api_key.revoked:
            raise exceptions.AuthenticationFailed(REVOKED)
        if api_key.has_expired:
            raise exceptions.AuthenticationFailed(EXPIRED)
        return api_key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class StaffTokenAuthentication(authentication.TokenAuthentication):
    """DRF's ``Authorization: Token <key>``, the key's form checked before any query (a NUL
    in it made PostgreSQL fail the request with a 500).

    A token verified in the last ``API_CREDENTIAL_CACHE_SECONDS`` is taken from the cache
    (``endpoints.api.credentials``), as a channel key is.
    """

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        if not TOKEN_FORMAT.fullmatch(key):
            raise exceptions.AuthenticationFailed("Invalid token.")
        token = credentials.recalled_token(key)
        if token is not None and token.user.is_active:
            return token.user, token
        user, token = super().authenticate_credentials(key)
        credentials.remember_token(key, token)
        return user, token
