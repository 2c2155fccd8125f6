"""What can go wrong when talking to Genesys Cloud, as exceptions that say what to do.

Messages carry what Genesys said (its ``message``, ``code`` and ``contextId``, which
Genesys support asks for) and never a token, secret or JWT.
"""

from __future__ import annotations

from typing import Any

from endpoints.providers import ProviderError


class GenesysError(ProviderError):
    """A Genesys Cloud call that did not succeed."""

    #: What an administrator can do about it; appended to the message.
    advice = ""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str = "",
        context_id: str = "",
        advice: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.context_id = context_id
        if advice is not None:
            self.advice = advice
        self.detail = message
        super().__init__(self._compose())

    def _compose(self) -> str:
        text = self.detail.rstrip(".") + "."
        if self.advice:
            text += f" {self.advice}"
        if self.context_id:
            text += f" (Genesys contextId {self.context_id})"
        return text


class GenesysNotConfigured(GenesysError):
    """The endpoint's Genesys settings do not allow the call (e.g. no Node Authentication)."""

    http_status = 409


class GenesysCredentialsError(GenesysError):
    """The token endpoint refused the client ID or secret."""

    advice = (
        "Check the Client ID and Client Secret of the OAuth2 connection, and that the OAuth "
        "client (grant type Client Credentials) belongs to an organisation in this region."
    )


class GenesysAuthenticationError(GenesysError):
    """An API call was refused as unauthenticated even with a fresh token."""


class GenesysPermissionError(GenesysError):
    """The OAuth client's roles lack a permission the call needs."""

    def __init__(self, message: str, *, permission: str = "", **kwargs: Any) -> None:
        self.permission = permission
        if permission:
            kwargs.setdefault(
                "advice",
                f"Give the OAuth client a role with the permission {permission} "
                "(Genesys Cloud: Admin → Roles/Permissions, then Admin → Integrations → OAuth "
                "→ your client → Roles).",
            )
        super().__init__(message, **kwargs)


class GenesysNotFound(GenesysError):
    """Genesys Cloud has no such object (a wrong ID)."""


class GenesysBadRequest(GenesysError):
    """Genesys Cloud refused the request as malformed or not allowed in its state."""


class GenesysConversationEnded(GenesysBadRequest):
    """The web chat conversation or our member in it is over: end the handover.

    Genesys answers 400 ``chat.error.conversation.state`` or ``chat.error.member.state``.
    """


class GenesysRateLimited(GenesysError):
    """Genesys Cloud kept answering 429 Too Many Requests."""

    advice = "Genesys Cloud limits request rates; try again shortly."
    http_status = 503
    #: Genesys's ``Retry-After``, in seconds, when it gave one.
    retry_after: float | None = None


class GenesysUnavailable(GenesysError):
    """Genesys Cloud could not be reached, timed out, or kept failing (5xx)."""

    advice = "Check the Host (region) and this server's network access, then try again."
