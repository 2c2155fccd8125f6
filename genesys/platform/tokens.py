"""OAuth2 client-credentials tokens (Node Authentication), cached for every process.

Genesys Cloud gives no refresh token for this grant: a new token is requested shortly
before the old one expires, once for all workers. Tokens are kept encrypted in the cache,
keyed by connection and a hash of its credentials, so a changed secret never reuses a
token of the old one.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from endpoints import crypto
from endpoints.fields import SecretUnreadable
from endpoints.validators import is_printable_ascii
from genesys.models import OAuth2Connection
from genesys.platform import errors, http
from genesys.platform.caching import get_or_compute
from genesys.platform.regions import Region, token_url
from ops.instruments import TOKEN_REQUESTS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenGrant:
    """A token as Genesys issued it; ``repr`` never shows the token."""

    access_token: str
    expires_in: int

    def __repr__(self) -> str:
        return f"TokenGrant(expires_in={self.expires_in})"


def basic_credentials(connection: OAuth2Connection) -> tuple[str, str]:
    """The client ID and secret of ``connection``, as HTTP Basic can carry them.

    The form refuses anything else, but rows written before it did, or whose key is gone,
    get a credentials error here, before any request, rather than an encoding error from
    ``requests`` or ``SecretUnreadable``. Neither message shows the secret.
    """
    name = connection.name
    try:
        secret = connection.client_secret
    except SecretUnreadable:
        raise errors.GenesysCredentialsError(
            f"The client secret of “{name}” is unreadable: none of the keys in "
            "FIELD_ENCRYPTION_KEYS decrypts it",
            advice="Add back the key it was encrypted with, or open the OAuth2 connection "
            "and enter the client secret again.",
        ) from None
    if not is_printable_ascii(connection.client_id):
        raise errors.GenesysCredentialsError(
            f"The Client ID of “{name}” holds characters HTTP Basic authentication cannot "
            "carry (only printable ASCII, as Genesys Cloud issues it)",
            advice="Open the OAuth2 connection and enter the Client ID again.",
        )
    if not is_printable_ascii(secret):
        raise errors.GenesysCredentialsError(
            f"The client secret of “{name}” holds characters HTTP Basic authentication "
            "cannot carry (only printable ASCII, as Genesys Cloud issues it)",
            advice="Open the OAuth2 connection and enter the client secret again.",
        )
    return connection.client_id, secret


def request_token(connection: OAuth2Connection, region: Region) -> TokenGrant:
    """Ask Genesys for a new token (no cache): ``POST /oauth/token``, HTTP Basic auth."""
    try:
        grant = _request_token(connection, region)
    except errors.GenesysError:
        TOKEN_REQUESTS.labels(outcome="error").inc()
        raise
    TOKEN_REQUESTS.labels(outcome="ok").inc()
    return grant


def _request_token(connection: OAuth2Connection, region: Region) -> TokenGrant:
    auth = basic_credentials(connection)
    data = {"grant_type": "client_credentials"}
    if connection.scope:
        data["scope"] = connection.scope
    try:
        response = http.send(
            "POST",
            token_url(region),
            what="the token request",
            auth=auth,
            data=data,
            idempotent=True,
        )
    except (errors.GenesysAuthenticationError, errors.GenesysBadRequest) as error:
        raise errors.GenesysCredentialsError(
            f"Genesys Cloud ({region}) refused the client ID or secret of “{connection.name}”",
            status=error.status,
            code=error.code,
            context_id=error.context_id,
        ) from None
    try:
        body = response.json()
        return TokenGrant(str(body["access_token"]), int(body.get("expires_in", 0)))
    except (ValueError, KeyError, TypeError):
        raise errors.GenesysError(
            f"Genesys Cloud ({region}) answered the token request without a token"
        ) from None


def _cache_key(connection: OAuth2Connection, region: Region) -> str:
    client_id, secret = basic_credentials(connection)
    material = "\0".join([token_url(region), client_id, secret, connection.scope])
    digest = hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]
    return f"genesys:token:{connection.pk}:{digest}"


def cached_token_keys() -> Iterator[tuple[str, str]]:
    """For a key rotation: each OAuth2 connection's token cache entry, labelled."""
    for connection in OAuth2Connection.objects.order_by("pk").iterator():
        region = connection.region
        if region is None:
            continue
        try:
            key = _cache_key(connection, region)
        except errors.GenesysError:
            continue  # its secret is unreadable or unsendable: no token was ever cached
        yield f"Genesys token of OAuth2 connection pk={connection.pk}", key


def keep_seconds(expires_in: int) -> float:
    """How long to reuse a token: until shortly (10 %, 30 s to 5 min) before it expires."""
    margin = min(300.0, max(30.0, expires_in * 0.1))
    return max(0.0, expires_in - margin)


def access_token(connection: OAuth2Connection, region: Region) -> str:
    """A valid token for ``connection`` in ``region``, from the cache when it has one.

    A cached token no configured key decrypts (its key was retired since) counts as a miss.
    """
    key = _cache_key(connection, region)

    def fetch() -> tuple[str, float]:
        grant = request_token(connection, region)
        return crypto.encrypt(grant.access_token), keep_seconds(grant.expires_in)

    for _attempt in (1, 2):
        cached = get_or_compute(key, fetch, lock_seconds=_lock_seconds())
        try:
            return crypto.decrypt(cached)
        except crypto.InvalidToken:
            logger.info(
                "The cached Genesys token of OAuth2 connection pk=%s cannot be decrypted "
                "(its key is no longer in FIELD_ENCRYPTION_KEYS); fetching a new one",
                connection.pk,
            )
            cache.delete(key)
    # Only another process, encrypting with keys this one lacks, refills the entry so fast.
    raise errors.GenesysError(
        f"The cached Genesys token of “{connection.name}” cannot be decrypted, even just "
        "after it was fetched",
        advice="Give every web and worker process the same FIELD_ENCRYPTION_KEYS.",
    )


def forget_token(connection: OAuth2Connection, region: Region, token: str) -> None:
    """Drop the cached token if it is still ``token`` (Genesys refused it: get a new one)."""
    key = _cache_key(connection, region)
    cached = cache.get(key)
    if cached is None:
        return
    try:
        same = crypto.decrypt(cached) == token
    except crypto.InvalidToken:
        same = True
    if same:
        cache.delete(key)


def _lock_seconds() -> float:
    return settings.GENESYS_HTTP_CONNECT_TIMEOUT + settings.GENESYS_HTTP_READ_TIMEOUT + 1
