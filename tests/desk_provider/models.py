"""An endpoint's Test Desk settings: where the desk is, and the token it is called with."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from endpoints.fields import EncryptedTextField
from endpoints.models import Endpoint

SESSION_DURATION_MAX = 1440


class DeskSettings(models.Model):
    endpoint = models.OneToOneField(
        Endpoint, on_delete=models.CASCADE, related_name="desk_settings"
    )
    desk_url = models.URLField("Desk URL", help_text="The desk's API, e.g. https://desk.example")
    session_duration_minutes = models.PositiveIntegerField(
        "Session Duration (minutes)",
        default=20,
        validators=[MinValueValidator(1), MaxValueValidator(SESSION_DURATION_MAX)],
    )
    # The one declaration of the secret: the inline, the API and the logs take it from here.
    api_token = EncryptedTextField(
        "API Token",
        help_text="The desk's API token. Stored encrypted; never shown again.",
        error_messages={"blank": "Enter the desk's API token."},
    )
    # The endpoint API's ETag is made of it (handover_portal.E006).
    updated_at = models.DateTimeField("updated", auto_now=True)

    class Meta:
        # Explicit: the module may be imported while the app is not installed (the tests
        # install it for a while only).
        app_label = "desk_provider"
        verbose_name = "Test Desk settings"
        verbose_name_plural = "Test Desk settings"

    def __str__(self) -> str:
        return f"Test Desk settings of {self.endpoint}"
