"""Installing the Test Desk for a while, as a deployment would: one app, one setting line.

``desk_installed()`` adds the provider's line to ``HANDOVER_PROVIDERS`` and its app (derived
from that line, ``endpoints.provider_apps``) to ``INSTALLED_APPS``, and creates its table
(the test database was made without the app), dropped again at the end. Run it in a
transactional test: the table is then visible to every connection (a relay thread's too),
and schema changes on SQLite refuse to run inside a transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.apps import apps as registry
from django.conf import settings
from django.db import connection
from django.test import override_settings

from endpoints.provider_apps import provider_apps

DESK_PROVIDER = "tests.desk_provider.providers.DeskProvider"


@contextmanager
def desk_installed() -> Iterator[None]:
    app = provider_apps([DESK_PROVIDER], installed=settings.INSTALLED_APPS)
    assert app == ["tests.desk_provider"], app
    with override_settings(
        INSTALLED_APPS=[*settings.INSTALLED_APPS, *app],
        HANDOVER_PROVIDERS=[*settings.HANDOVER_PROVIDERS, DESK_PROVIDER],
    ):
        # Django's set_installed_apps() leaves the models' cached relations as they were:
        # the endpoint would not know its ``desk_settings`` once the module was imported.
        registry.clear_cache()
        from tests.desk_provider.models import DeskSettings

        with connection.schema_editor() as editor:
            editor.create_model(DeskSettings)
        try:
            yield
        finally:
            with connection.schema_editor() as editor:
                editor.delete_model(DeskSettings)
