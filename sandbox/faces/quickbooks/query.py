"""QuickBooks' query language, the subset clients use (API-NOTES: "What real QuickBooks
clients send"): SELECT * (or COUNT(*), or *, Sku) FROM <Entity> [WHERE <field> <op>
<value> [AND ...]] [ORDERBY <field> [ASC|DESC], ...] [STARTPOSITION n] [MAXRESULTS m];
ops =, !=, <, >, <=, >=, LIKE ('%' wildcards), IN (...); values 'text' (\\' escapes),
numbers, true/false. No OR, no joins. Keywords and entity names in any case; field
names as QuickBooks spells them (MetaData.LastUpdatedTime)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

MAX_RESULTS = 1000
DEFAULT_RESULTS = 100


class QueryError(Exception):
    def __init__(self, code: str, message: str, detail: str):
        super().__init__(detail)
        self.code, self.message, self.detail = code, message, detail


@dataclass
class Query:
    entity: str
    count: bool = False
    where: list[tuple[str, str, object]] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    start: int = 1
    max_results: int = DEFAULT_RESULTS


_TOKEN = re.compile(r"\s*(?:(?P<text>'(?:[^'\\]|\\.)*')|(?P<op><=|>=|!=|<>|=|<|>|\(|\)|,)|(?P<word>[^\s=<>!(),']+))")


def _tokens(text: str) -> list[tuple[str, str]]:
    found, pos = [], 0
    text = text.strip().rstrip(";")
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise QueryError("4000", "Error parsing query", f"QueryParserError: Encountered \" {text[pos:pos + 20]}\"")
        pos = match.end()
        kind = match.lastgroup
        found.append((kind, match.group(kind)))
    return found


def _value(kind: str, raw: str):
    if kind == "text":
        return raw[1:-1].replace("\\'", "'")
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise QueryError("4000", "Error parsing query", f"QueryParserError: Encountered \" {raw}\"") from None


def parse(text: str) -> Query:
    tokens = _tokens(text or "")
    words = [(k, v.upper() if k == "word" else v) for k, v in tokens]
    if len(words) < 4 or words[0][1] != "SELECT":
        raise QueryError("4000", "Error parsing query", "QueryParserError: a query starts SELECT ... FROM <entity>")
    try:
        at = [w for _, w in words].index("FROM")
    except ValueError:
        raise QueryError("4000", "Error parsing query", "QueryParserError: FROM is missing") from None
    projection = "".join(v for _, v in tokens[1:at]).replace(" ", "").upper()
    if at + 1 >= len(tokens):
        raise QueryError("4000", "Error parsing query", "QueryParserError: the entity is missing")
    query = Query(entity=tokens[at + 1][1], count=projection == "COUNT(*)")
    i = at + 2
    while i < len(tokens):
        keyword = words[i][1]
        if keyword == "WHERE" or (keyword == "AND" and query.where is not None):
            name = tokens[i + 1][1] if i + 1 < len(tokens) else ""
            if i + 2 >= len(tokens):
                raise QueryError("4000", "Error parsing query", "QueryParserError: a condition is cut short")
            op = words[i + 2][1]
            if op == "IN":
                values, j = [], i + 3
                if j >= len(tokens) or tokens[j][1] != "(":
                    raise QueryError("4000", "Error parsing query", "QueryParserError: IN takes a list")
                j += 1
                while j < len(tokens) and tokens[j][1] != ")":
                    if tokens[j][1] != ",":
                        values.append(_value(*tokens[j]))
                    j += 1
                query.where.append((name, "IN", values))
                i = j + 1
                continue
            if op not in ("=", "!=", "<>", "<", ">", "<=", ">=", "LIKE") or i + 3 >= len(tokens):
                raise QueryError("4000", "Error parsing query", f"QueryParserError: Encountered \" {op}\"")
            query.where.append((name, "!=" if op == "<>" else op, _value(*tokens[i + 3])))
            i += 4
        elif keyword == "ORDERBY" or (keyword == "ORDER" and i + 1 < len(tokens) and words[i + 1][1] == "BY"):
            i += 2 if keyword == "ORDER" else 1
            while i < len(tokens):
                name = tokens[i][1]
                descending = i + 1 < len(tokens) and words[i + 1][1] in ("ASC", "DESC") and words[i + 1][1] == "DESC"
                i += 2 if i + 1 < len(tokens) and words[i + 1][1] in ("ASC", "DESC") else 1
                query.order.append((name, descending))
                if i < len(tokens) and tokens[i][1] == ",":
                    i += 1
                    continue
                break
        elif keyword in ("STARTPOSITION", "MAXRESULTS") and i + 1 < len(tokens):
            try:
                value = int(tokens[i + 1][1])
            except ValueError:
                raise QueryError("4000", "Error parsing query", f"QueryParserError: {keyword} takes a number") from None
            if keyword == "STARTPOSITION":
                query.start = max(1, value)
            else:
                query.max_results = max(1, min(MAX_RESULTS, value))
            i += 2
        else:
            raise QueryError("4000", "Error parsing query", f"QueryParserError: Encountered \" {tokens[i][1]}\"")
    return query


def _field(doc: dict, path: str):
    value = doc
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = next((v for k, v in value.items() if k.lower() == part.lower()), None)
    if isinstance(value, dict) and "value" in value:  # a reference: CustomerRef = '5'
        value = value["value"]
    return value


def _moment(value):
    if isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}", value):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return value


def _compare(actual, op: str, expected) -> bool:
    if op == "IN":
        return any(_compare(actual, "=", e) for e in expected)
    if op == "LIKE":
        pattern = "^" + re.escape(str(expected)).replace("%", ".*").replace("_", ".") + "$"
        return actual is not None and re.match(pattern, str(actual), re.IGNORECASE | re.DOTALL) is not None
    if isinstance(expected, Decimal) and actual is not None and not isinstance(actual, bool):
        try:
            actual = Decimal(str(actual))
        except InvalidOperation:
            return False
    if isinstance(expected, str) and isinstance(actual, str):
        actual, expected = _moment(actual), _moment(expected)
        if isinstance(actual, str) and isinstance(expected, str):
            actual, expected = actual.lower(), expected.lower()
    try:
        return {"=": actual == expected, "!=": actual != expected, "<": actual < expected, ">": actual > expected,
                "<=": actual <= expected, ">=": actual >= expected}[op]
    except TypeError:
        return False


def matches(doc: dict, where) -> bool:
    return all(_compare(_field(doc, name), op, value) for name, op, value in where)


def _key(value):
    value = _moment(value)
    if isinstance(value, datetime):
        return (1, value.timestamp(), "")
    if isinstance(value, (int, Decimal)) or (isinstance(value, str) and value.isdigit()):
        return (1, float(value), "")
    return (2 if value is not None else 3, 0.0, str(value or "").lower())


def sort(docs: list[dict], order) -> list[dict]:
    for name, descending in reversed(order):
        docs.sort(key=lambda d: _key(_field(d, name)), reverse=descending)
    return docs
