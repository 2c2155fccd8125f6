"""Admin behaviour shared by the endpoints app's admins and the providers' (no registrations
here, so any admin module may import it)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """For what the product writes (handovers, webhook calls, relay replicas): staff read
    it and never add, edit or delete it here; the one action they may take needs the
    model's ``change`` permission (``has_model_change_permission``)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_model_change_permission(self, request: HttpRequest) -> bool:
        opts = self.model._meta  # type: ignore[attr-defined]
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")
