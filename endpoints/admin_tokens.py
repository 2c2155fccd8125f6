"""Staff tooling's DRF tokens in the admin: listed by user, never by key; delete to revoke.

DRF's own token admin lists every key in clear, and names a token by its key in messages,
page titles and the admin log. A token is issued with ``manage.py drf_create_token
<username>``, which prints it once; channels get API keys instead (``admin_channels``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import TokenProxy

from endpoints.models import StaffToken

admin.site.unregister(TokenProxy)


@admin.register(StaffToken)
class StaffTokenAdmin(TokenAdmin):
    list_display = ("user", "created")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Nowhere to show the new key: drf_create_token prints it.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
