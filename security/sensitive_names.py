"""The names a secret goes by in text (``name=value``, ``"name": "value"``): a few fixed
ones, and every sensitive model field's (``sensitive = True``, as ``EncryptedTextField``
declares), read from the app registry.

Read lazily, when first asked after the models are loaded (logging is configured before
they are), and read again whenever Django's registry changes (its ``get_models()`` cache is
cleared when a model is registered or ``INSTALLED_APPS`` is overridden).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps

#: Named like a credential whatever the models hold.
FIXED_NAMES = frozenset({"password", "access_token", "refresh_token"})


@dataclass(frozen=True, slots=True)
class _Read:
    models: list[type]
    names: frozenset[str]


_last: _Read | None = None


def sensitive_names() -> frozenset[str]:
    """``FIXED_NAMES`` and the name of every sensitive field of the installed models."""
    global _last
    if not apps.models_ready:
        return FIXED_NAMES
    models = apps.get_models()  # the same list until the registry changes
    last = _last
    if last is None or last.models is not models:
        names = {
            field.name
            for model in models
            for field in model._meta.concrete_fields
            if getattr(field, "sensitive", False)
        }
        last = _last = _Read(models, FIXED_NAMES | names)
    return last.names
