"""Who may use the API.

Reading configuration needs the model's ``view`` permission, for every safe method. The
runtime API (starting and driving handovers) needs ``endpoints.drive_handover``, given
separately: a configuration token cannot start a handover, nor a driving token read
configuration. A channel API key holds both on its channel's endpoints only
(``endpoints.api.authentication.CHANNEL_PERMISSIONS``). A nested object shows in full only
to who may view its model (``requester_may``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.views import APIView

VIEW = ["%(app_label)s.view_%(model_name)s"]


class ViewModelPermission(permissions.DjangoModelPermissions):
    """The model's ``view`` permission for GET, HEAD and OPTIONS; DRF's add/change/delete
    permissions for the writing methods, which read-only views refuse anyway.
    """

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": VIEW,
        "HEAD": VIEW,
        "OPTIONS": VIEW,
    }


class DriveHandoverPermission(permissions.BasePermission):
    """``endpoints.drive_handover`` ("Can start and drive handovers over the API")."""

    message = (
        "This token may not start or drive handovers: its user needs the permission "
        "“Can start and drive handovers over the API”."
    )

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm("endpoints.drive_handover"))


def requester_may(context: Mapping[str, Any], perm: str) -> bool:
    """Whether the requester in a serializer's ``context`` holds ``perm`` (no request: no)."""
    user = getattr(context.get("request"), "user", None)
    return bool(user is not None and user.has_perm(perm))


class ReadAPIDocs(permissions.BasePermission):
    """The schema and its docs pages: who may view endpoints, or anyone with
    ``API_DOCS_PUBLIC``. They list every operation and field, which helps an attacker too.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        if settings.API_DOCS_PUBLIC:
            return True
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm("endpoints.view_endpoint"))
