"""Small helpers: JSON with exact decimals, Xero's MS-JSON dates, the sandbox clock."""
from __future__ import annotations

import json
import re
import time
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

_DEC = "\u0001D"  # a control character: JSON always writes it escaped, as \u0001
_DEC_RE = re.compile(r'"\\u0001D(-?[0-9.Ee+-]+)"')
_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
CENT = Decimal("0.01")


def _default(value):
    if isinstance(value, Decimal):
        return _DEC + format(value, "f")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value) -> str:
    """JSON text in which Decimals are written as exact JSON numbers (never through float)."""
    return _DEC_RE.sub(r"\1", json.dumps(value, default=_default, separators=(",", ":"), ensure_ascii=False))


def loads(text: str | bytes):
    return json.loads(text, parse_float=Decimal)


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def to_decimal(value, default: Decimal | None = None) -> Decimal | None:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise ValueError("not a number")
    if isinstance(value, float):
        value = repr(value)
    try:
        result = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    if not result.is_finite():
        raise ValueError("not a finite number")
    return result


def ms_date(ms: float | int) -> str:
    """Xero's MS-JSON date-time: /Date(1573755038314+0000)/."""
    return f"/Date({int(ms)}+0000)/"


def ms_from_day(day: str) -> int:
    d = date.fromisoformat(day)
    return int(datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp() * 1000)


def day_from_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).date().isoformat()


def parse_day(value) -> str | None:
    """A date given by a client ("2026-12-03", "2026-12-03T00:00:00" or MS-JSON) as YYYY-MM-DD."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("not a date")
    match = _MS_DATE.match(value.strip())
    if match:
        return day_from_ms(int(match.group(1)))
    text = value.strip()
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError as exc:
        raise ValueError(f"not a date: {value!r}") from exc


def parse_moment(value: str | None) -> float | None:
    """If-Modified-Since: ISO 8601 (UTC when no zone), MS-JSON or an HTTP date; epoch seconds."""
    if not value:
        return None
    text = value.strip()
    match = _MS_DATE.match(text)
    if match:
        return int(match.group(1)) / 1000
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        from email.utils import parsedate_to_datetime
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def iso_utc(seconds: float) -> str:
    """Identity timestamp like Xero's 2019-12-07T18:46:19.5165400, plus "Z" (the spec says date-time)."""
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


class Clock:
    """Real time plus an offset that tests may advance (POST /__sandbox/clock)."""

    def __init__(self, offset: float = 0.0):
        self.offset = offset

    def now(self) -> float:
        return time.time() + self.offset

    def now_ms(self) -> int:
        return int(self.now() * 1000)
