"""``genesys_relay``: the ``relay`` command under its former name (kept for existing
process definitions; it runs every provider's listener, not only Genesys's)."""

from __future__ import annotations

from endpoints.management.commands.relay import Command as RelayCommand


class Command(RelayCommand):
    help = "Alias of `relay` (its name before the relay served every provider)."
