"""The validators of text from people: printable ASCII, what HTTP Basic carries."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from endpoints.validators import PrintableAsciiValidator

validate = PrintableAsciiValidator("Only printable ASCII.")


@pytest.mark.parametrize(
    "value",
    [
        "",
        "0f4e6f4c-6a1e-4f3c-9a8d-3d2b7e5c1a90",
        "bN3x_Q-8ZpLk2vWc9YtRf7Hs0JmDgE4aUoKiX1l6TyA",
        "with a space",
        "".join(chr(code) for code in range(0x20, 0x7F)),
    ],
)
def test_printable_ascii_is_accepted(value):
    validate(value)


@pytest.mark.parametrize(
    "value",
    ["sécret", "secret€", "秘密", "tab\there", "new\nline", "nul\x00", "del\x7f", "nbsp\xa0"],
)
def test_anything_else_is_refused_without_showing_the_value(value):
    with pytest.raises(ValidationError) as refused:
        validate(value)
    assert refused.value.code == "not_printable_ascii"
    assert refused.value.messages == ["Only printable ASCII."]
