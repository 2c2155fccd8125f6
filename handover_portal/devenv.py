"""Write ``.data/dev.env`` once: the development keys, so that nobody has to make them.

The file is shell: ``make`` sources it before every command. A variable already set in
the environment wins over the file. Never use these keys in production.
"""

from __future__ import annotations

import base64
import os
import secrets
import sys
from pathlib import Path

DEV_ENV = Path(__file__).resolve().parent.parent / ".data" / "dev.env"


def render() -> str:
    secret_key = secrets.token_urlsafe(50)
    encryption_key = base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")
    return (
        "# Development settings made by `make`; kept across runs. Not for production.\n"
        'export DEBUG="${DEBUG:-true}"\n'
        f'export SECRET_KEY="${{SECRET_KEY:-{secret_key}}}"\n'
        f'export FIELD_ENCRYPTION_KEYS="${{FIELD_ENCRYPTION_KEYS:-{encryption_key}}}"\n'
    )


def main() -> int:
    if DEV_ENV.exists():
        return 0
    DEV_ENV.parent.mkdir(parents=True, exist_ok=True)
    DEV_ENV.write_text(render())
    DEV_ENV.chmod(0o600)
    print(f"Wrote development keys to {DEV_ENV.relative_to(Path.cwd())}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
