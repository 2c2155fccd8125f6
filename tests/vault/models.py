"""A model with secrets declared only on their fields: nothing else names them."""

from __future__ import annotations

from django.db import models

from endpoints.fields import EncryptedTextField

COMBINATION_HELP = "The lock's combination. Stored encrypted; never shown again."
COMBINATION_REQUIRED = "Enter the lock's combination."


class Locker(models.Model):
    """A locker: a name, a required secret (named like nothing secret) and an optional one."""

    name = models.CharField(max_length=50)
    combination = EncryptedTextField(
        "combination",
        help_text=COMBINATION_HELP,
        error_messages={"blank": COMBINATION_REQUIRED},
    )
    spare = EncryptedTextField("spare code", blank=True, help_text="Optional.")

    class Meta:
        app_label = "vault"

    def __str__(self) -> str:
        return self.name
