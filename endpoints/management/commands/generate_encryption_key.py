from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from endpoints.crypto import generate_key


class Command(BaseCommand):
    help = "Print a new key for FIELD_ENCRYPTION_KEYS (put it first to encrypt with it)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(generate_key())
