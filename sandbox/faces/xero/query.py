"""Xero's query language over the books' records in Xero's shapes: `where` (clauses
joined by AND / && and OR; ==, !=, <, >, <=, >=, .Contains(), .StartsWith(), .EndsWith();
string comparisons case-insensitive, as Xero's are in practice), `order` and
`page`/`pageSize` paging."""
from __future__ import annotations

import re
from decimal import Decimal

from ...core.util import ms_from_day


class QueryError(Exception):
    pass


_CLAUSE = re.compile(
    r'^\s*\(?\s*(?P<field>[A-Za-z][\w.]*?)'
    r'(?:\s*(?P<op>==|!=|>=|<=|>|<)\s*(?P<value>"(?:[^"\\]|\\.)*"|Guid\("[^"]*"\)|DateTime\([^)]*\)|true|false|null|-?[\d.]+)'
    r'|\.(?P<method>Contains|StartsWith|EndsWith)\("(?P<arg>(?:[^"\\]|\\.)*)"\))\s*\)?\s*$')


def _split(text: str, words: tuple[str, ...]) -> list[str]:
    parts, current, quoted, i = [], "", False, 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            quoted = not quoted
        if not quoted:
            hit = next((w for w in words if text.startswith(w, i)), None)
            if hit:
                parts.append(current)
                current, i = "", i + len(hit)
                continue
        current += ch
        i += 1
    parts.append(current)
    return parts


def _literal(text: str):
    if text.startswith('"'):
        return text[1:-1].replace('\\"', '"')
    if text.startswith("Guid("):
        return text[6:-2]
    if text.startswith("DateTime("):
        numbers = [int(x) for x in re.findall(r"\d+", text)]
        while len(numbers) < 3:
            numbers.append(1)
        return ms_from_day(f"{numbers[0]:04d}-{numbers[1]:02d}-{numbers[2]:02d}")
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    return Decimal(text)


def parse_where(where: str | None) -> list[list[tuple]]:
    """Disjunction of conjunctions of (field, op, value)."""
    if not where or not where.strip():
        return []
    result = []
    for alternative in _split(where, (" OR ", " or ", "||")):
        clauses = []
        for part in _split(alternative, (" AND ", " and ", "&&")):
            match = _CLAUSE.match(part)
            if not match:
                raise QueryError(f"Unable to parse the where clause: {part.strip()}")
            if match.group("method"):
                clauses.append((match.group("field"), match.group("method"), match.group("arg")))
            else:
                clauses.append((match.group("field"), match.group("op"), _literal(match.group("value"))))
        result.append(clauses)
    return result


def _field(doc: dict, path: str):
    value = doc
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def _compare(actual, op, expected) -> bool:
    if isinstance(actual, str) and isinstance(expected, str):
        actual, expected = actual.lower(), expected.lower()
    if op in ("Contains", "StartsWith", "EndsWith"):
        actual = (actual or "").lower() if isinstance(actual, str) else ""
        expected = expected.lower()
        return {"Contains": expected in actual, "StartsWith": actual.startswith(expected),
                "EndsWith": actual.endswith(expected)}[op]
    if isinstance(expected, Decimal) and actual is not None and not isinstance(actual, bool):
        try:
            actual = Decimal(str(actual))
        except ArithmeticError:
            return False
    try:
        return {"==": actual == expected, "!=": actual != expected, ">": actual > expected, "<": actual < expected,
                ">=": actual >= expected, "<=": actual <= expected}[op]
    except TypeError:
        return False


def matches(doc: dict, where: list[list[tuple]]) -> bool:
    if not where:
        return True
    return any(all(_compare(_field(doc, f), op, v) for f, op, v in conj) for conj in where)


def order_by(text: str | None, columns: dict, default: str) -> str:
    """An ORDER BY of the store's columns for Xero's `order` (unknown fields refused)."""
    if not text:
        return f"{default} ASC"
    parts = []
    for piece in text.split(","):
        words = piece.strip().split()
        if not words:
            continue
        column = columns.get(words[0].lower())
        if column is None:
            raise QueryError(f"Unable to order by {words[0]}")
        direction = "DESC" if len(words) > 1 and words[1].upper() == "DESC" else "ASC"
        parts.append(f"{column} {direction}")
    return ", ".join(parts) or f"{default} ASC"


def page_args(args) -> tuple[int | None, int]:
    page = args.get("page")
    try:
        page_number = max(1, int(page)) if page not in (None, "") else None
        size = int(args.get("pageSize") or 100)
    except ValueError as exc:
        raise QueryError("page and pageSize must be whole numbers") from exc
    return page_number, max(1, min(size, 1000))
