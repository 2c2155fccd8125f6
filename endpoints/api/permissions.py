"""Who may read configuration over the API.

Reading configuration needs the model's ``view`` permission, for every safe method. Later
write APIs (driving handovers) bring their own permission classes; nothing here grants a
write.
"""

from __future__ import annotations

from rest_framework import permissions

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
