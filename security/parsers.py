"""The REST API's JSON parser, bounded in nesting depth and key length.

DRF's ``JSONParser`` lets a deeply nested body raise ``RecursionError`` (a 500) and takes
object keys of any length (stored as they are in JSON fields). This one answers 400 with
what is wrong. Values are bounded by each serializer; keys and depth by no one else.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from endpoints.validators import printable

MAX_DEPTH = 32
MAX_KEY_LENGTH = 255
TOO_DEEP = f"JSON parse error - the body is nested more than {MAX_DEPTH} levels deep."


class BoundedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        problem = out_of_bounds(data)
        if problem:
            raise ParseError(problem)
        return data


def out_of_bounds(data: Any) -> str:
    """Why ``data`` is nested too deeply or has too long a key; empty when it is fine.
    Iterative, so no depth makes it recurse."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_DEPTH:
            return TOO_DEEP
        if isinstance(value, dict):
            for key in value:
                if len(key) > MAX_KEY_LENGTH:
                    return (
                        f"JSON parse error - the key “{printable(key, limit=20)}” is longer "
                        f"than {MAX_KEY_LENGTH} characters."
                    )
            value = value.values()
        stack.extend((item, depth + 1) for item in value)
    return ""
