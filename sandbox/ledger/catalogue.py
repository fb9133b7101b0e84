"""The books' reference lists: items, the chart of accounts and the tax codes.

An item:    id, code, name, description, purchase_description, tracked,
            sold / bought: {price, account_code, tax_code} or None (not sold / not bought), updated_ms
An account: id, code, name, type (one of ACCOUNT_TYPES), tax_code, system (a role such as
            "debtors", or ""), payments_enabled, bank_number, currency, status, updated_ms
A tax code: id, code, name, report_code, rate (a percentage), applies_to (of APPLIES_TO), status

Rules for items: a code (at most 30 characters, unique case aside), a name of at most 50,
prices that are numbers of at least 0; an item given a sale (purchase) price is sold
(bought), booked to Sales (Purchases) with GST unless it says otherwise."""
from __future__ import annotations

from decimal import Decimal

from ..core.util import dumps, to_decimal
from .common import Problem, check_len, new_id, touch, unchanged

ACCOUNT_TYPES = ("bank", "revenue", "cost_of_sales", "expense", "depreciation", "current_asset", "inventory",
                 "fixed_asset", "current_liability", "long_term_liability", "equity")
APPLIES_TO = ("revenue", "expenses", "assets", "liabilities", "equity")
DEFAULT_BOOKING = {"sold": ("200", "OUTPUT"), "bought": ("300", "INPUT")}  # codes of the seeded chart


def tax_codes(store, tenant: str) -> dict[str, dict]:
    return {r["tax_type"]: store.doc(r) for r in store.query(
        "SELECT tax_type, doc FROM taxrates WHERE tenant_id=? ORDER BY rowid", (tenant,))}


def accounts(store, tenant: str) -> dict[str, dict]:
    return {r["code"]: store.doc(r) for r in store.query(
        "SELECT code, doc FROM accounts WHERE tenant_id=? ORDER BY code", (tenant,))}


def items(store, tenant: str) -> dict[str, dict]:
    """Every item by its code, lower case."""
    return {r["code"].lower(): store.doc(r) for r in store.query(
        "SELECT code, doc FROM items WHERE tenant_id=? ORDER BY code", (tenant,))}


def get_item(store, tenant: str, item_id: str) -> dict | None:
    row = store.one("SELECT doc FROM items WHERE tenant_id=? AND item_id=?", (tenant, str(item_id).lower()))
    return store.doc(row) if row else None


def put_account(db, tenant: str, record: dict) -> None:
    db.execute("INSERT OR REPLACE INTO accounts (account_id, tenant_id, code, updated_ms, doc) VALUES (?,?,?,?,?)",
               (record["id"], tenant, record["code"], record["updated_ms"], dumps(record)))


def put_tax_code(db, tenant: str, record: dict) -> None:
    db.execute("INSERT OR REPLACE INTO taxrates (tenant_id, tax_type, doc) VALUES (?,?,?)",
               (tenant, record["code"], dumps(record)))


def put_item(db, tenant: str, record: dict) -> None:
    db.execute("INSERT OR REPLACE INTO items (item_id, tenant_id, code, updated_ms, doc) VALUES (?,?,?,?,?)",
               (record["id"], tenant, record["code"], record["updated_ms"], dumps(record)))


def save_item(store, tenant: str, changes: dict, item_id: str | None = None):
    """An item created (no item_id) or changed. `changes`: code, name, description, and
    sale_price / purchase_price (text or numbers; empty leaves the price as it is).
    Returns (record or None, [Problem])."""
    problems: list[Problem] = []
    existing = None
    if item_id:
        existing = get_item(store, tenant, item_id)
        if existing is None:
            return None, [Problem("not_found", f"The item {item_id} could not be found.", id=item_id)]
    for field, limit in (("code", 30), ("name", 50), ("description", 4000)):
        check_len(problems, changes.get(field), field.capitalize(), limit)
    code = (changes.get("code") if "code" in changes else (existing or {}).get("code")) or ""
    code = code.strip() if isinstance(code, str) else ""
    if not code:
        problems.append(Problem("code_missing", "Item code must be specified."))
    elif store.one("SELECT item_id FROM items WHERE tenant_id=? AND lower(code)=? AND item_id != ?",
                   (tenant, code.lower(), (existing or {}).get("id", ""))):
        problems.append(Problem("code_taken", f"Item code '{code}' already exists.", code=code))
    prices = {}
    for side, field, words in (("sold", "sale_price", "The sale price"), ("bought", "purchase_price",
                                                                          "The purchase price")):
        value = changes.get(field)
        if value in (None, ""):
            continue
        try:
            price = to_decimal(value)
        except ValueError:
            price = None
        if price is None or not price.is_finite() or price < 0:
            problems.append(Problem("bad_price", f"{words} must be a number of at least 0.", field=field))
        else:
            prices[side] = price
    if problems:
        return None, problems
    record = dict(existing) if existing else {
        "id": new_id(), "code": code, "name": "", "description": "", "purchase_description": "",
        "tracked": False, "sold": None, "bought": None}
    record["code"] = code
    for field in ("name", "description", "purchase_description"):
        if isinstance(changes.get(field), str):
            record[field] = changes[field].strip()
    for side, price in prices.items():
        account, tax = DEFAULT_BOOKING[side]
        booking = dict(record.get(side) or {"account_code": account, "tax_code": tax})
        booking["price"] = price
        record[side] = booking
    if unchanged(record, existing):
        return existing, []
    put_item(store.db, tenant, touch(store, record))
    return record, []


def rate_of(tax_code: dict | None) -> Decimal:
    return Decimal(str(tax_code["rate"])) if tax_code else Decimal(0)
