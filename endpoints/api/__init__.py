"""The REST API (``/api/v1/``): read-only configuration, and the runtime API of handovers."""
