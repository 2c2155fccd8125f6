"""Re-encryption of every stored secret under the first key of ``FIELD_ENCRYPTION_KEYS``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from django.apps import apps
from django.core.cache import cache
from django.db import models, transaction

from endpoints import crypto
from endpoints.fields import EncryptedTextField, StoredSecret, encrypted_fields


@dataclass
class RotationReport:
    """What a rotation (or a check) found, per ``app_label.Model.field``."""

    rewritten: dict[str, int] = field(default_factory=dict)
    retired: dict[str, int] = field(default_factory=dict)
    unreadable: dict[str, list[object]] = field(default_factory=dict)
    #: Cache entries encrypted under a retired key (or under none), per source.
    cached_retired: dict[str, int] = field(default_factory=dict)
    cached_dropped: dict[str, int] = field(default_factory=dict)

    @property
    def total_rewritten(self) -> int:
        return sum(self.rewritten.values())

    @property
    def total_retired(self) -> int:
        return sum(self.retired.values())

    @property
    def total_unreadable(self) -> int:
        return sum(len(pks) for pks in self.unreadable.values())

    @property
    def total_cached_retired(self) -> int:
        return sum(self.cached_retired.values())


#: Where secrets are copied into the cache: callables yielding (label, cache key).
CachedSecrets = Callable[[], Iterable[tuple[str, str]]]
_cached_secret_sources: list[CachedSecrets] = []


def register_cached_secrets(source: CachedSecrets) -> None:
    """Declare cache entries holding encrypted secrets (an app's ``ready()`` does it), so
    a rotation covers them too."""
    if source not in _cached_secret_sources:
        _cached_secret_sources.append(source)


def cached_secrets_rotate(
    *, dry_run: bool = False, report: RotationReport | None = None
) -> RotationReport:
    """Count (``dry_run``) or drop the cache entries not under the first key.

    Dropped, not re-encrypted: a cache entry is a copy (a token), fetched again on its next
    use; its remaining lifetime is not portable across cache backends.
    """
    report = report or RotationReport()
    for source in _cached_secret_sources:
        for label, key in source():
            report.cached_retired.setdefault(label, 0)
            report.cached_dropped.setdefault(label, 0)
            value = cache.get(key)
            if not isinstance(value, str) or crypto.is_under_primary_key(value):
                continue
            report.cached_retired[label] += 1
            if not dry_run:
                cache.delete(key)
                report.cached_dropped[label] += 1
    return report


def encrypted_columns() -> Iterator[tuple[type[models.Model], EncryptedTextField]]:
    """Every (model, field) that stores a secret."""
    for model in apps.get_models():
        for encrypted in encrypted_fields(model):
            yield model, encrypted


def secrets_rotate(*, batch_size: int = 500, dry_run: bool = False) -> RotationReport:
    """Re-encrypt every secret not under the first key, one committed batch at a time.

    Each batch locks its rows, so a concurrent save is not overwritten, and commits on
    its own, so an interrupted run loses nothing and a re-run resumes. With ``dry_run``,
    only count rows still under a retired key (and rows no key opens).
    """
    report = RotationReport()
    for model, encrypted in encrypted_columns():
        label = f"{model._meta.label}.{encrypted.name}"
        report.rewritten[label] = report.retired[label] = 0
        last_pk = None
        while True:
            with transaction.atomic():
                rows = model._base_manager.order_by("pk")
                if last_pk is not None:
                    rows = rows.filter(pk__gt=last_pk)
                if not dry_run:
                    rows = rows.select_for_update()
                batch = list(rows.values_list("pk", encrypted.attname)[:batch_size])
                for pk, stored in batch:
                    _rotate_one(model, encrypted, pk, stored, report, label, dry_run)
            if len(batch) < batch_size:
                break
            last_pk = batch[-1][0]
    return cached_secrets_rotate(dry_run=dry_run, report=report)


def _rotate_one(
    model: type[models.Model],
    encrypted: EncryptedTextField,
    pk: object,
    stored: StoredSecret | str | None,
    report: RotationReport,
    label: str,
    dry_run: bool,
) -> None:
    if not isinstance(stored, StoredSecret) or crypto.is_under_primary_key(stored.token):
        return
    try:
        rotated = crypto.rotate(stored.token)
    except crypto.InvalidToken:
        report.unreadable.setdefault(label, []).append(pk)
        return
    report.retired[label] += 1
    if not dry_run:
        model._base_manager.filter(pk=pk).update(**{encrypted.attname: StoredSecret(rotated)})
        report.rewritten[label] += 1
