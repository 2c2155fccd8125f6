"""The base of every configuration API view: read-only, authenticated, ``view`` permission,
confined to a channel key's endpoints.
"""

from __future__ import annotations

from rest_framework import exceptions, permissions, viewsets
from rest_framework.request import Request

from endpoints.api.conditional import ConditionalRetrieveMixin
from endpoints.api.confinement import ChannelConfinedMixin
from endpoints.api.permissions import ViewModelPermission


class ConfigurationViewSet(
    ChannelConfinedMixin, ConditionalRetrieveMixin, viewsets.ReadOnlyModelViewSet
):
    """List and retrieve; every writing method answers 405 and changes nothing."""

    permission_classes = [ViewModelPermission]

    def check_permissions(self, request: Request) -> None:
        # A write is refused as such (405) for every authenticated client, whatever its
        # permissions, so that clients get one answer; anonymous clients still get 401.
        if request.method not in permissions.SAFE_METHODS and request.user.is_authenticated:
            raise exceptions.MethodNotAllowed(request.method)
        super().check_permissions(request)
