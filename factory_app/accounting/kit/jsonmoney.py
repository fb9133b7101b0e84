"""JSON that keeps money exact: numbers are read as Decimal, and Decimals are written as
JSON numbers (what the packages' schemas type amounts as)."""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

MAX_DIGITS = 15  # up to 15 significant digits a float's shortest repr is the Decimal's own digits


def loads(content: bytes | str | None) -> Any:
    """An answer's body; ValueError when it is not JSON (an empty body is None)."""
    return json.loads(content or b"null", parse_float=Decimal)


def dumps(body: Any) -> str:
    """A request's body. A Decimal goes out as a JSON number with exactly its digits
    (Factory's limits keep amounts well inside MAX_DIGITS; beyond it, ValueError rather
    than a rounded amount)."""
    return json.dumps(body, default=_default)


def _default(value):
    if isinstance(value, Decimal):
        if len(value.normalize().as_tuple().digits) > MAX_DIGITS:
            raise ValueError(f"{value} has too many digits to send exactly")
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value)}")
