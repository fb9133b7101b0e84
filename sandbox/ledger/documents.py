"""The books' documents: sales invoices and bills (purchase invoices), their lines, tax,
totals and status.

A document:
    id, kind ("sale" | "purchase", or a credit note's "sale_credit" | "purchase_credit": credits.py), number, reference, contact_id, date, due_date (days),
    status (draft | submitted | authorised | paid | voided | deleted),
    amounts ("exclusive" | "inclusive" | "notax": how the lines' amounts stand to tax),
    lines: [{id, description, quantity, unit_price, item_code, item_id, account_code, account_id,
             tax_code, tax_amount, line_amount, discount_rate}],
    subtotal, tax, total, discount, paid, credited, due (what is still owed),
    payments: [{id, date, amount, reference}] (those applied), credits: [{id, credit_id, amount, date}]
    (credit notes allocated), fully_paid_on,
    currency, currency_rate, url, branding_theme_id, sent, expected_payment, updated_ms

Rules: statuses move as TRANSITIONS allows; a document with payments or credits, or paid,
voided or deleted, can't change; an authorised one needs a due date, lines and an account on each
line; each line's amount is quantity x unit price less its discount, its tax that
amount's share at its tax code's rate (added to it, or inside it for "inclusive"), each
rounded to the cent; sales are numbered INV-0001 on when they come without a number, and
a sale's number is unique."""
from __future__ import annotations

from decimal import Decimal

from ..core.util import day_from_ms, money, to_decimal
from . import catalogue, contacts
from .common import CREATED, CREDIT, DOCUMENT, UPDATED, Problem, emit, new_id, touch

KINDS = ("sale", "purchase", "sale_credit", "purchase_credit")  # credit notes: credits.py
AMOUNTS = ("exclusive", "inclusive", "notax")
NO_TAX = ("BASEXCLUDED", "EXEMPTOUTPUT", "EXEMPTEXPENSES")  # the codes a document without tax may carry
TRANSITIONS = {
    None: {"draft", "submitted", "authorised"},
    "draft": {"draft", "submitted", "authorised", "deleted"},
    "submitted": {"draft", "submitted", "authorised", "deleted"},
    "authorised": {"authorised", "voided", "deleted"},  # Xero's face refuses deleting an approved one
    "paid": set(), "voided": set(), "deleted": set(),
}
CLOSED = ("paid", "voided", "deleted")


def side(kind: str) -> str:
    """"sale" or "purchase": the side of the books a document (or credit note) is on."""
    return kind.removesuffix("_credit")


def event_kind(kind: str) -> str:
    return CREDIT if kind.endswith("_credit") else DOCUMENT


def not_modifiable() -> Problem:
    return Problem("not_modifiable", "The document can no longer be changed: it is paid, voided or deleted, "
                                     "or has payments.")


def get(store, tenant: str, document_id: str) -> dict | None:
    return store.get_invoice(tenant, document_id)


def by_number(store, tenant: str, number: str, kind: str | None = None) -> dict | None:
    """The document of that number (a sale before a purchase when the kind isn't given;
    credit notes only when it is)."""
    if kind:
        row = store.one("SELECT doc FROM invoices WHERE tenant_id=? AND type=? AND number=?", (tenant, kind, number))
    else:
        row = store.one("SELECT doc FROM invoices WHERE tenant_id=? AND number=? AND type IN ('sale', 'purchase') "
                        "ORDER BY type DESC", (tenant, number))
    return store.doc(row) if row else None


def compute_lines(store, tenant, kind, amounts, given_lines, status, problems):
    """The lines with their amounts and tax, and the document's subtotal, tax and discount."""
    rates, chart, known = catalogue.tax_codes(store, tenant), catalogue.accounts(store, tenant), \
        catalogue.items(store, tenant)
    lines, sub_total, total_tax, total_discount = [], Decimal(0), Decimal(0), Decimal(0)
    booking_side = "sold" if side(kind) == "sale" else "bought"
    for n, given in enumerate(given_lines, 1):
        if not isinstance(given, dict):
            problems.append(Problem("bad_line", f"Line item {n} must be an object.", line=n))
            continue
        item = None
        if given.get("item_code"):
            item = known.get(str(given["item_code"]).lower())
            if item is None:
                problems.append(Problem("unknown_item", f"Item code '{given['item_code']}' is not valid",
                                        code=given["item_code"]))
                continue
        booking = (item or {}).get(booking_side) or {}
        try:
            quantity = to_decimal(given.get("quantity"), Decimal(1))
            unit = to_decimal(given.get("unit_price"), to_decimal(booking.get("price"), Decimal(0)))
            discount = to_decimal(given.get("discount_rate"), Decimal(0))
            stated = to_decimal(given.get("line_amount"))
        except ValueError as exc:
            problems.append(Problem("bad_number", f"Line item {n}: {exc}", line=n))
            continue
        if not Decimal(0) <= discount <= Decimal(100):
            problems.append(Problem("bad_discount", "Discount rate must be between 0 and 100."))
        description = given.get("description") or (item or {}).get(
            "description" if side(kind) == "sale" else "purchase_description") or (item or {}).get("description")
        if not description:
            problems.append(Problem("description_missing", "Description must be specified."))
        account_code = given.get("account_code") or booking.get("account_code")
        account = chart.get(str(account_code)) if account_code else None
        if account_code and account is None:
            problems.append(Problem("unknown_account", f"Account code '{account_code}' is not a valid code for "
                                                       "this document.", code=account_code))
        elif account_code is None and status == "authorised":
            problems.append(Problem("account_missing", "Account code must be specified."))
        tax_code = given.get("tax_code") or booking.get("tax_code") or (account or {}).get("tax_code")
        if amounts == "notax":
            tax_code = tax_code if tax_code in NO_TAX else "BASEXCLUDED"
        rate_record = rates.get(tax_code) if tax_code else None
        if tax_code and rate_record is None:
            problems.append(Problem("unknown_tax", f"The TaxType code '{tax_code}' does not exist or cannot be used "
                                                   "for this type of transaction.", code=tax_code))
            continue
        rate = catalogue.rate_of(rate_record)
        line_amount = money(quantity * unit * (Decimal(1) - discount / Decimal(100)))
        if stated is not None and money(stated) != line_amount:
            problems.append(Problem("wrong_total", f"The line total {money(stated)} does not match the expected "
                                                   f"line total {line_amount}"))
        if amounts == "exclusive":
            tax = money(line_amount * rate / Decimal(100))
        elif amounts == "inclusive":
            tax = money(line_amount * rate / (Decimal(100) + rate))
        else:
            tax = Decimal("0.00")
        line = {"id": str(given.get("id") or new_id()), "description": description or "", "quantity": quantity,
                "unit_price": unit, "tax_code": tax_code or "", "tax_amount": tax, "line_amount": line_amount,
                "account_code": str(account_code) if account_code else None,
                "account_id": account["id"] if account else None,
                "item_code": item["code"] if item else None, "item_id": item["id"] if item else None,
                "item_name": item.get("name", "") if item else None, "discount_rate": discount or None}
        if discount:
            total_discount += money(quantity * unit) - line_amount
        lines.append(line)
        sub_total += line_amount - (tax if amounts == "inclusive" else 0)
        total_tax += tax
    return lines, money(sub_total), money(total_tax), money(total_discount)


def _next_number(store, tenant: str, prefix: str) -> str:
    key = f"invno:{tenant}" if prefix == "INV" else f"{prefix.lower()}no:{tenant}"
    next_no = int(store.meta(key) or 1)
    while store.one("SELECT 1 FROM invoices WHERE tenant_id=? AND number=?", (tenant, f"{prefix}-{next_no:04d}")):
        next_no += 1
    store.set_meta(key, str(next_no + 1))
    return f"{prefix}-{next_no:04d}"


def save(store, tenant: str, changes: dict, document_id: str | None = None):
    """A document created (no document_id) or changed. `changes` holds what to set: kind,
    number, reference, contact_id, date, due_date, status, amounts, lines (each line as
    its description, quantity, unit_price, item_code, account_code, tax_code,
    discount_rate and, to be checked, line_amount), and currency, url, branding_theme_id,
    sent, expected_payment. Returns (record or None, [Problem])."""
    existing = None
    if document_id:
        existing = get(store, tenant, document_id)
        if existing is None:
            return None, [Problem("not_found", "The document could not be found.", id=document_id)]
    old_status = existing["status"] if existing else None
    status = changes.get("status") or old_status or "draft"
    if status not in TRANSITIONS:
        return None, [Problem("bad_status", f"Status {status} is not valid.", status=status)]
    if existing:
        changed = {k for k, v in changes.items() if k != "status" and v is not None}
        if status == old_status and not changed:
            return existing, []
        if old_status in CLOSED or existing.get("payments") or existing.get("credits") or existing.get("allocations"):
            return None, [not_modifiable()]
    if status not in TRANSITIONS[old_status] and status != old_status:
        return None, [not_modifiable() if existing else
                      Problem("bad_new_status", f"A new document cannot be created with status {status}.",
                              status=status)]
    kind = changes.get("kind") or (existing or {}).get("kind")
    if kind not in KINDS:
        return None, [Problem("bad_kind", "A document is a sale, a purchase or a credit note.", kind=kind)]
    if existing and kind != existing["kind"]:
        return None, [Problem("kind_changed", "A document's kind cannot be changed.")]
    amounts = changes.get("amounts") or (existing or {}).get("amounts") or "exclusive"
    if amounts not in AMOUNTS:
        return None, [Problem("bad_amounts", f"Amounts {amounts} are not valid.", amounts=amounts)]
    problems: list[Problem] = []
    day = changes.get("date") or (existing or {}).get("date") or day_from_ms(store.clock.now_ms())
    due = changes.get("due_date") if changes.get("due_date") else (existing or {}).get("due_date")
    if status == "authorised" and not due:
        problems.append(Problem("due_missing", "Due Date is required."))
    number = changes.get("number") if changes.get("number") is not None else (existing or {}).get("number")
    contact_id = changes.get("contact_id") or (existing or {}).get("contact_id")
    contact = contacts.get(store, tenant, contact_id) if contact_id else None
    if contact is None:
        problems.append(Problem("contact_missing", "The Contact specified could not be found."))
    given_lines = changes.get("lines")
    if given_lines is None:
        given_lines = (existing or {}).get("lines") or []
    if status == "authorised" and not given_lines:
        problems.append(Problem("lines_missing", "At least one line item is required to approve an invoice."))
    lines, sub_total, total_tax, total_discount = compute_lines(store, tenant, kind, amounts, given_lines, status,
                                                                problems)
    if kind == "sale" and number and store.one(
            "SELECT 1 FROM invoices WHERE tenant_id=? AND type='sale' AND number=? AND invoice_id != ?",
            (tenant, number, existing["id"] if existing else "")):
        problems.append(Problem("number_taken", "Invoice # must be unique.", number=number))
    if problems:
        return None, problems
    if existing is None:
        seq = store.one("SELECT coalesce(max(seq), 0) + 1 AS n FROM invoices WHERE tenant_id=?", (tenant,))["n"]
        if kind in ("sale", "sale_credit") and not number:
            number = _next_number(store, tenant, "INV" if kind == "sale" else "CN")
        record = {"id": new_id(), "kind": kind, "payments": [], "paid": Decimal("0.00"), "credited": Decimal("0.00"),
                  "currency": "AUD", "currency_rate": Decimal("1"), "sent": False, "url": None,
                  "branding_theme_id": None, "expected_payment": None, "fully_paid_on": None}
    else:
        seq = store.one("SELECT seq FROM invoices WHERE invoice_id=?", (existing["id"],))["seq"]
        record = dict(existing)
    total = sub_total + total_tax
    reference = changes.get("reference", record.get("reference", "")) or ""
    record.update({"number": number or "", "reference": reference, "contact_id": contact["id"], "date": day,
                   "due_date": due or None, "status": status, "amounts": amounts, "lines": lines,
                   "subtotal": sub_total, "tax": total_tax, "total": total, "discount": total_discount,
                   "due": total - Decimal(str(record["paid"])) if status not in ("voided", "deleted")
                   else Decimal("0.00")})
    touch(store, record)
    for field in ("url", "branding_theme_id", "sent", "expected_payment", "currency"):
        if changes.get(field) is not None:
            record[field] = changes[field]
    if kind.endswith("_credit"):
        record.setdefault("allocations", [])
        record["remaining"] = record["due"]
    store.put_invoice(tenant, record, seq)
    if status not in ("deleted", "voided"):
        contacts.mark(store, tenant, contact["id"], side(kind))
    emit(store, tenant, event_kind(kind), UPDATED if existing else CREATED, record["id"])
    return record, []


def put(store, tenant: str, record: dict) -> None:
    """A document changed by the books themselves (a payment applied or removed)."""
    touch(store, record)
    seq = store.one("SELECT seq FROM invoices WHERE invoice_id=?", (record["id"],))["seq"]
    store.put_invoice(tenant, record, seq)
    emit(store, tenant, event_kind(record["kind"]), UPDATED, record["id"])
