from __future__ import annotations

import os
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create a superuser from DJANGO_SUPERUSER_USERNAME and DJANGO_SUPERUSER_PASSWORD when "
        "both are set and the user does not exist yet; otherwise say how to create one."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model()
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "")
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD", "")
        if username and password:
            if users._default_manager.filter(**{users.USERNAME_FIELD: username}).exists():
                self.stdout.write(f"Superuser “{username}” exists.")
                return
            users._default_manager.create_superuser(
                username, os.environ.get("DJANGO_SUPERUSER_EMAIL", ""), password
            )
            self.stdout.write(self.style.SUCCESS(f"Created superuser “{username}”."))
            return
        if not users._default_manager.filter(is_superuser=True).exists():
            self.stdout.write(
                self.style.WARNING(
                    "No administrator yet. Create one with: make superuser "
                    "(or set DJANGO_SUPERUSER_USERNAME and DJANGO_SUPERUSER_PASSWORD)."
                )
            )
