"""A channel key sees only its channel's endpoints and what hangs off them: one place.

Every API view's queryset goes through ``ChannelConfinedMixin.get_queryset``, so for a
channel key another endpoint's objects are not found (404, never 403: a channel does not
learn that they exist) and lists show only its own. Staff users and DRF tokens are not
confined: their model permissions decide, as before.
"""

from __future__ import annotations

from typing import ClassVar

from django.db.models import Model, QuerySet
from rest_framework.request import Request

from endpoints.api.authentication import ChannelPrincipal

#: ``endpoint_lookup`` of a view whose objects belong to no endpoint: no channel sees any.
NO_CHANNEL = None


def confine_to_channel(
    queryset: QuerySet[Model], request: Request, endpoint_lookup: str | None
) -> QuerySet[Model]:
    """``queryset`` as the requester may see it.

    ``endpoint_lookup`` is the path from the queryset's model to its ``Endpoint`` (``""``
    for endpoints themselves, ``"endpoint"`` for handovers), or ``NO_CHANNEL``.
    """
    principal = request.user
    if not isinstance(principal, ChannelPrincipal):
        return queryset
    if endpoint_lookup is NO_CHANNEL:
        return queryset.none()
    # One row per object: a channel is linked to an endpoint at most once.
    channels = f"{endpoint_lookup}__channels" if endpoint_lookup else "channels"
    return queryset.filter(**{channels: principal.channel_id})


class ChannelConfinedMixin:
    """Confines the view's queryset to a channel key's endpoints.

    Subclasses declare ``endpoint_lookup`` and, when they override ``get_queryset``,
    build on ``super().get_queryset()``.
    """

    endpoint_lookup: ClassVar[str | None]
    request: Request

    def get_queryset(self) -> QuerySet[Model]:
        queryset = super().get_queryset()  # type: ignore[misc]
        return confine_to_channel(queryset, self.request, self.endpoint_lookup)
