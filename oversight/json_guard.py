"""JSON that every database keeps and every reader survives, checked where input enters.

The API's parser and the admin's decision form both run what they read through `check_json`,
so a value is refused the same way wherever it comes from:

- PostgreSQL refuses NUL (U+0000) in `jsonb` and text while SQLite stores it: the same body
  would be evidence on one database and a 500 on the other. It is refused on both.
- A lone surrogate (U+D800–U+DFFF, e.g. `"\\ud800"`) is not text: no UTF-8 encoder writes it,
  so it would fail when stored, hashed into the ledger or rendered back.
- Python's JSON reader and every recursive walk after it (serializers, the ledger's canonical
  form, templates) recurse once per level: nesting is bounded far below where they break, and
  the total number of keys is bounded so one body cannot make a huge ledger payload.
- Numbers beyond a double are infinite once read (`1e400`) and integers beyond 64 bits fit no
  numeric column; both are refused rather than stored as something else.

The walk is iterative, so it is safe on any depth the parser managed to read.
"""

import json
import math
from typing import Any

from django.conf import settings

from oversight.exceptions import InvalidInput

DEFAULT_MAX_DEPTH = 32
DEFAULT_MAX_KEYS = 1000
MAX_INTEGER = 2**63 - 1


class UnsafeJSON(InvalidInput):
    """A value no database or reader can take; `path` names where, `problem` says what."""

    def __init__(self, path: str, problem: str):
        self.path = path or "body"
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def max_depth() -> int:
    return getattr(settings, "INPUT_JSON_MAX_DEPTH", DEFAULT_MAX_DEPTH)


def max_keys() -> int:
    return getattr(settings, "INPUT_JSON_MAX_KEYS", DEFAULT_MAX_KEYS)


def field_path(parent: str, key: str) -> str:
    """`parent.key`, with a key that is not printable written with JSON escapes.

    The path goes back to the client in the error: a NUL or a surrogate in it would break the
    very response that reports it.
    """
    shown = key if key.isprintable() else json.dumps(key, ensure_ascii=True)[1:-1]
    return f"{parent}.{shown}" if parent else shown


def check_text(text: str, *, path: str, what: str = "text") -> None:
    """Refuse NUL characters and lone surrogates in one string (a value, a key, a parameter)."""
    if "\x00" in text:
        raise UnsafeJSON(path, f"the {what} contains a NUL character (\\u0000); remove it.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsafeJSON(
            path, f"the {what} contains a lone surrogate (\\ud800-\\udfff), which is not text."
        ) from None


def check_json(value: Any, *, path: str = "", depth: int | None = None, keys: int | None = None):
    """Walk a parsed JSON value and raise UnsafeJSON at the first thing no database keeps.

    `depth` counts objects and arrays: `{"a": [1]}` is two levels deep. `keys` bounds the
    number of object keys in the whole value, not per object.
    """
    depth = max_depth() if depth is None else depth
    keys = max_keys() if keys is None else keys
    seen_keys = 0
    stack: list[tuple[Any, str, int]] = [(value, path, 1)]
    while stack:
        item, where, level = stack.pop()
        if item is None or isinstance(item, bool):
            continue
        if isinstance(item, str):
            check_text(item, path=where)
        elif isinstance(item, int):
            if abs(item) > MAX_INTEGER:
                raise UnsafeJSON(
                    where, f"integers are at most ±{MAX_INTEGER}; send larger numbers as text."
                )
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise UnsafeJSON(where, "the number is out of range (infinite or not a number).")
        elif isinstance(item, dict | list):
            if level > depth:
                raise UnsafeJSON(where, f"nested deeper than {depth} levels.")
            if isinstance(item, dict):
                seen_keys += len(item)
                if seen_keys > keys:
                    raise UnsafeJSON(where, f"more than {keys} keys in all; send less.")
                children = []
                for key, child in item.items():
                    child_path = field_path(where, str(key))
                    check_text(str(key), path=child_path, what="name")
                    children.append((child, child_path, level + 1))
            else:
                children = [(child, f"{where}[{i}]", level + 1) for i, child in enumerate(item)]
            stack.extend(reversed(children))  # report the first problem in document order
        else:
            raise UnsafeJSON(where, f"{type(item).__name__} is not a JSON value.")


def loads(text: str, *, path: str) -> Any:
    """Read JSON typed by a person: json.JSONDecodeError if it is not JSON, else a safe value.

    A body nested deeper than Python's reader can go is refused as UnsafeJSON, not a crash.
    """
    try:
        value = json.loads(text)
    except RecursionError:
        raise UnsafeJSON(path, f"nested deeper than {max_depth()} levels.") from None
    except json.JSONDecodeError:
        raise
    except ValueError:  # an integer of more digits than Python converts (4,300)
        raise UnsafeJSON(path, "a number is too long to read; send it as text.") from None
    check_json(value, path=path)
    return value
