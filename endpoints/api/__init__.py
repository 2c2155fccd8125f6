"""The read-only REST API of endpoint configuration (``/api/v1/``)."""
