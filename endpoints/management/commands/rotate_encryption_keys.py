from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from endpoints.rotation import secrets_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret under the first key of FIELD_ENCRYPTION_KEYS, in "
        "batches, and drop cached copies (tokens) under a retired key. With --check, only "
        "report rows and cache entries still under a retired key."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="Change nothing; exit 1 while any row is under a retired key or unreadable.",
        )
        parser.add_argument("--batch-size", type=int, default=500, help="Rows per transaction.")

    def handle(self, *args: Any, check: bool, batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be a whole number of at least 1.")
        report = secrets_rotate(batch_size=batch_size, dry_run=check)
        for label in report.retired:
            if check:
                self.stdout.write(f"{label}: {report.retired[label]} under a retired key")
            else:
                self.stdout.write(f"{label}: rewrote {report.rewritten[label]}")
        for label, count in report.cached_retired.items():
            if check:
                self.stdout.write(f"cache: {label}: {count} under a retired key")
            else:
                self.stdout.write(f"cache: {label}: dropped {report.cached_dropped[label]}")
        for label, pks in report.unreadable.items():
            shown = ", ".join(str(pk) for pk in pks[:20])
            self.stderr.write(
                f"{label}: {len(pks)} unreadable with every configured key (pk {shown}). "
                "Add back the key they were encrypted with, or enter those secrets again."
            )
        if check:
            self.stdout.write(
                f"{report.total_retired} secrets and {report.total_cached_retired} cache entries "
                f"under a retired key, {report.total_unreadable} unreadable."
            )
            if report.total_retired or report.total_unreadable or report.total_cached_retired:
                raise CommandError("Keep the retired keys until this reports 0.", returncode=1)
            self.stdout.write(self.style.SUCCESS("Every secret is under the first key."))
        else:
            self.stdout.write(self.style.SUCCESS(f"Rewrote {report.total_rewritten} secrets."))
            if report.total_unreadable:
                raise CommandError(f"{report.total_unreadable} secrets are unreadable.")
