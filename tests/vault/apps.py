from __future__ import annotations

from django.apps import AppConfig


class VaultConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tests.vault"
    label = "vault"
