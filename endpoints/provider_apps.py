"""The Django apps of the configured providers, for ``INSTALLED_APPS``.

Imported by the settings module, so it imports nothing of Django: a provider class lives in
its app's ``providers`` module (``<app>.providers.<Class>``), and its app is that module's
package. Adding a provider is then its app plus one line in ``HANDOVER_PROVIDERS``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable


def provider_app(path: str) -> str | None:
    """``"genesys.providers.GenesysCloudProvider"`` → ``"genesys"``; ``None`` when the path
    names no package that exists (the ``handover_portal.E004`` check then says why)."""
    module, _, _ = path.rpartition(".")
    package, _, _ = module.rpartition(".")
    if not package:
        return None
    try:
        found = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    return package if found is not None else None


def provider_apps(paths: Iterable[str], *, installed: Iterable[str] = ()) -> list[str]:
    """The apps of ``paths`` not already in ``installed``, once each, in order."""
    seen = set(installed)
    apps = []
    for path in paths:
        app = provider_app(path)
        if app is not None and app not in seen:
            seen.add(app)
            apps.append(app)
    return apps
