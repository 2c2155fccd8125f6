from __future__ import annotations

import pytest
from cryptography.fernet import Fernet


@pytest.fixture
def new_key() -> str:
    """A fresh Fernet key, as text."""
    return Fernet.generate_key().decode("ascii")
