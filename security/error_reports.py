"""Error reports without our secrets: Django's technical 500 page (``DEBUG``) and the text
of the admins' error e-mail.

Django's ``SafeExceptionReporterFilter`` hides settings named like a secret (``API``,
``AUTH``, ``TOKEN``, ``KEY``, ``SECRET``, ``PASS``, ``SIGNATURE``), but it shows a password
inside a URL under any other name (``CELERY_BROKER_URL``, a cache's ``LOCATION``, the
``DATABASE_URL`` that runserver copies into ``request.META``), and it cleanses nothing in
frame locals unless ``DEBUG`` is off and the view says which. Ours is on under ``DEBUG``
too, hides locals and POST parameters named like a secret (``client_secret``, ``jwt``,
``token``…, and every name of ``security.sensitive_names``: each sensitive model field's,
also inside an inline's prefixed parameter), and masks URL passwords, ``Authorization``
values and values under a sensitive name in every string it shows, the exception's message
included.
"""

from __future__ import annotations

import re
from pprint import pformat
from typing import Any

from django.utils.regex_helper import _lazy_re_compile
from django.views import debug

from security.redaction import redact
from security.sensitive_names import sensitive_names


def _is_sensitive_name(key: Any) -> bool:
    """``key`` is a sensitive name, alone or as the last part of a prefixed form field
    (``genesys_om_settings-0-webhook_secret``)."""
    return isinstance(key, str) and key.rsplit("-", 1)[-1].lower() in sensitive_names()


class SafeExceptionReporterFilter(debug.SafeExceptionReporterFilter):
    hidden_settings = _lazy_re_compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|JWT|CREDENTIAL|STREAM_URI",
        flags=re.I,
    )

    def is_active(self, request: Any) -> bool:
        return True  # under DEBUG too: the page is shown on screens and in screenshots

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        if _is_sensitive_name(key):
            return self.cleansed_substitute
        try:
            cleansed = super().cleanse_setting(key, value)
            if not isinstance(cleansed, str):
                return cleansed
            text = str(cleansed)  # a lazy string too
        except Exception:  # a lazy object that fails to evaluate: shown as Django would
            return value
        masked = redact(text)
        return cleansed if masked == text else masked

    def get_post_parameters(self, request: Any) -> Any:
        parameters = super().get_post_parameters(request)
        names = [key for key in parameters if _is_sensitive_name(key)]
        if not names:
            return parameters
        cleansed = parameters.copy()
        for name in names:
            cleansed[name] = self.cleansed_substitute
        return cleansed

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        return [
            (name, _masked_object(self.cleanse_setting(name, value)))
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]


class _Shown:
    """A frame local whose display had a secret: the display, masked."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _masked_object(value: Any) -> Any:
    """``value``, or its display masked when that shows a secret (an exception quoting a
    URL, an object holding one)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    try:
        text = pformat(value)
    except Exception:  # Django shows "Error in formatting" for these
        return value
    masked = redact(text)
    return value if masked == text else _Shown(masked)


class ExceptionReporter(debug.ExceptionReporter):
    """Django's reporter, with URL passwords and credentials masked in exception messages."""

    def get_traceback_data(self) -> dict[str, Any]:
        data = super().get_traceback_data()
        if "exception_value" in data:
            data["exception_value"] = redact(data["exception_value"])
        for frame in data["frames"]:
            if frame.get("exc_cause") is not None:
                frame["exc_cause"] = redact(str(frame["exc_cause"]))
        return data
