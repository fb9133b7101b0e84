"""Money arithmetic: Decimal only, rounded half-up to cents per line."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
HUNDRED = Decimal("100")


def to_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineAmounts:
    subtotal: Decimal
    tax: Decimal
    total: Decimal


def line_amounts(quantity: Decimal, unit_price: Decimal, discount_percent: Decimal,
                 tax_rate: Decimal) -> LineAmounts:
    """Net amount of a line (after discount) and its tax, each rounded to cents."""
    gross = quantity * unit_price
    subtotal = to_cents(gross * (HUNDRED - discount_percent) / HUNDRED)
    tax = to_cents(subtotal * tax_rate / HUNDRED)
    return LineAmounts(subtotal, tax, subtotal + tax)


def format_money(value: Decimal | None, currency: str = "") -> str:
    if value is None:
        return ""
    sign = "-" if value < 0 else ""
    text = f"{abs(to_cents(value)):,.2f}"
    symbol = "$" if currency in ("", "AUD", "NZD", "USD", "CAD", "SGD", "HKD") else ""
    suffix = f" {currency}" if currency and not symbol else ""
    return f"{sign}{symbol}{text}{suffix}"
