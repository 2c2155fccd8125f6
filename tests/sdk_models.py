"""Request bodies checked against the official Genesys Cloud SDK's models
(``PureCloudPlatformClientV2``, a test extra: never imported by the product).

Each model class has ``swagger_types`` (attribute → type) and ``attribute_map`` (attribute →
JSON name); an enum attribute's setter turns a value it does not know into
``"outdated_sdk_version"``. ``violations(body, "Model")`` walks a JSON body through them:
names the model lacks, values of the wrong JSON type, enum values outside the allowed ones.
The SDK says nothing about which fields are required, so a missing field is no violation.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest

OUTDATED = "outdated_sdk_version"
_LIST = re.compile(r"\Alist\[(.+)\]\Z")
_DICT = re.compile(r"\Adict\((\w+), (.+)\)\Z")
PRIMITIVES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "object": (object,),
}


def sdk() -> Any:
    return pytest.importorskip("PureCloudPlatformClientV2")


def violations(
    body: Any, model: str, *, allowed: frozenset[str] = frozenset(), path: str = ""
) -> list[str]:
    """What in ``body`` the SDK's ``model`` does not describe, as ``path: reason`` lines.

    ``allowed`` holds the paths (``channel.metadata.customAttributes``, list items as
    ``content[]``) where a difference is known and documented: skipped with what is below.
    """
    if path in allowed:
        return []
    match_list, match_dict = _LIST.match(model), _DICT.match(model)
    if match_list:
        if not isinstance(body, list):
            return [f"{path or '.'}: not a list ({model})"]
        return [
            found
            for item in body
            for found in violations(item, match_list[1], allowed=allowed, path=f"{path}[]")
        ]
    if match_dict:
        if not isinstance(body, dict):
            return [f"{path or '.'}: not an object ({model})"]
        return [
            found
            for key, value in body.items()
            for found in violations(value, match_dict[2], allowed=allowed, path=f"{path}.{key}")
        ]
    if model in PRIMITIVES:
        wrong = not isinstance(body, PRIMITIVES[model]) or (
            model in ("int", "float") and isinstance(body, bool)
        )
        return [f"{path}: {body!r} is not {model}"] if wrong else []
    if model in ("datetime", "date"):
        try:
            datetime.fromisoformat(str(body))
        except ValueError:
            return [f"{path}: {body!r} is not an ISO-8601 {model}"]
        return []
    return _model_violations(body, model, allowed=allowed, path=path)


def _model_violations(body: Any, model: str, *, allowed: frozenset[str], path: str) -> list[str]:
    cls = getattr(sdk(), model, None)
    if cls is None:
        return [f"{path or '.'}: the SDK has no model {model}"]
    if not isinstance(body, dict):
        return [f"{path or '.'}: not an object ({model})"]
    instance = cls()
    by_json = {json_name: attr for attr, json_name in instance.attribute_map.items()}
    found: list[str] = []
    for key, value in body.items():
        here = f"{path}.{key}" if path else key
        attr = by_json.get(key)
        if attr is None:
            if here not in allowed:
                found.append(f"{here}: not a field of {model}")
            continue
        kind = instance.swagger_types[attr]
        found += violations(value, kind, allowed=allowed, path=here)
        if kind == "str" and isinstance(value, str) and here not in allowed:
            setattr(instance, attr, value)  # an enum's setter refuses unknown values
            if getattr(instance, attr) == OUTDATED:
                found.append(f"{here}: {value!r} is not a value {model}.{attr} allows")
    return found


def assert_fits(body: Any, model: str, *, allowed: frozenset[str] = frozenset()) -> None:
    """Fail with every violation of ``body`` against the SDK's ``model``."""
    problems = violations(body, model, allowed=allowed)
    assert not problems, f"{model}:\n" + "\n".join(problems)
