from decimal import Decimal as D

import pytest

from factory_app.money import format_money, line_amounts, to_cents


@pytest.mark.parametrize("value, expected", [
    ("0.005", "0.01"), ("0.015", "0.02"), ("0.025", "0.03"), ("1.004", "1.00"),
    ("-0.005", "-0.01"), ("2.675", "2.68"),
])
def test_half_up_rounding_to_cents(value, expected):
    assert to_cents(D(value)) == D(expected)


def test_line_amounts_discount_then_tax_each_rounded():
    amounts = line_amounts(D("3"), D("0.335"), D("0"), D("10"))
    assert amounts.subtotal == D("1.01")      # 1.005 -> 1.01 (half-up, not banker's 1.00)
    assert amounts.tax == D("0.10")           # 0.101 -> 0.10
    assert amounts.total == D("1.11")
    discounted = line_amounts(D("12"), D("48.50"), D("12.5"), D("10"))
    assert discounted.subtotal == D("509.25")  # 582.00 less 12.5 %
    assert discounted.tax == D("50.93")        # 50.925 -> 50.93
    assert discounted.total == D("560.18")


def test_line_amounts_are_decimals_with_two_places():
    amounts = line_amounts(D("2.5"), D("19.9999"), D("0"), D("15"))
    for value in (amounts.subtotal, amounts.tax, amounts.total):
        assert isinstance(value, D) and value.as_tuple().exponent == -2


def test_format_money():
    assert format_money(D("1234.5")) == "$1,234.50"
    assert format_money(D("-3")) == "-$3.00"
    assert format_money(D("10"), "EUR") == "10.00 EUR"
