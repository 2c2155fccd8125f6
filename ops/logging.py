"""Keeps the health probes out of the development server's access log."""

from __future__ import annotations

import logging


class QuietProbes(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        request_line = str(record.args[0]) if isinstance(record.args, tuple) and record.args else ""
        return " /health/" not in request_line
