"""The books' payments: money received against a sale, or paid against a bill, into a
bank account (or one that takes payments). Factory never records them; the bookkeeper
does, here or through a face's API.

A payment: id, document_id, account_id, account_code, date, amount, reference,
status ("active" | "deleted"), reconciled, updated_ms

Rules: only an authorised document takes a payment, of more than zero, in cents, at most
what it still owes; when it owes nothing it is paid (on the payment's day). Removing a
payment owes its amount again, and a paid document is authorised again."""
from __future__ import annotations

from decimal import Decimal

from ..core.util import day_from_ms, money, to_decimal
from . import catalogue, documents
from .common import Problem, new_id


def get(store, tenant: str, payment_id: str) -> dict | None:
    row = store.one("SELECT doc FROM payments WHERE tenant_id=? AND payment_id=?", (tenant, str(payment_id).lower()))
    return store.doc(row) if row else None


def apply(store, tenant: str, document_id: str, account: str, amount, day: str | None = None, reference: str = ""):
    """A payment of `amount` against the document, into the account of that code or id.
    Returns (payment or None, [Problem])."""
    document = documents.get(store, tenant, document_id) if document_id else None
    if document is None:
        return None, [Problem("document_not_found", "The document could not be found.")]
    chart = catalogue.accounts(store, tenant).values()
    into = next((a for a in chart if account and (a["code"] == account or a["id"] == str(account).lower())), None)
    problems: list[Problem] = []
    if into is None:
        problems.append(Problem("account_not_found", "Account could not be found"))
    elif into["type"] != "bank" and not into.get("payments_enabled"):
        problems.append(Problem("not_a_bank", "Payments can only be made to bank accounts or accounts with "
                                              "payments enabled."))
    if document["status"] != "authorised":
        problems.append(Problem("not_authorised", "Payment can only be made against an AUTHORISED invoice."))
    try:
        amount = to_decimal(amount)
    except ValueError as exc:
        return None, [Problem("bad_amount", str(exc))]
    day = day or day_from_ms(store.clock.now_ms())
    if amount is None or amount <= 0:
        problems.append(Problem("bad_amount", "Payment amount must be greater than zero."))
    elif money(amount) != amount:
        problems.append(Problem("bad_amount", "Payment amount must have at most 2 decimal places."))
    elif document["status"] == "authorised" and amount > Decimal(str(document["due"])):
        problems.append(Problem("too_much", "Payment amount exceeds the amount outstanding on this document."))
    if problems:
        return None, problems
    payment = {"id": new_id(), "document_id": document["id"], "account_id": into["id"], "account_code": into["code"],
               "date": day, "amount": money(amount), "reference": reference or "", "status": "active",
               "reconciled": False, "updated_ms": store.clock.now_ms()}
    store.put_payment(tenant, payment)
    paid = money(Decimal(str(document["paid"])) + payment["amount"])
    document["paid"], document["due"] = paid, money(Decimal(str(document["total"])) - paid)
    document["payments"] = [*document.get("payments", []), {"id": payment["id"], "date": day,
                                                            "amount": payment["amount"],
                                                            "reference": payment["reference"]}]
    if document["due"] == 0:
        document["status"], document["fully_paid_on"] = "paid", day
    documents.put(store, tenant, document)
    return payment, []


def remove(store, tenant: str, payment_id: str):
    """A payment removed: its document owes that amount again (authorised again if it was paid)."""
    payment = get(store, tenant, payment_id)
    if payment is None or payment.get("status") == "deleted":
        return None, [Problem("not_found", "The payment could not be found.")]
    document = documents.get(store, tenant, payment["document_id"])
    if document is None or document["status"] not in ("authorised", "paid"):
        return None, [Problem("closed", "The payment's invoice can no longer be changed.")]
    payment["status"], payment["updated_ms"] = "deleted", store.clock.now_ms()
    store.put_payment(tenant, payment)
    document["paid"] = money(Decimal(str(document["paid"])) - Decimal(str(payment["amount"])))
    document["due"] = money(Decimal(str(document["total"])) - document["paid"])
    document["payments"] = [p for p in document.get("payments", []) if p["id"] != payment["id"]]
    if document["status"] == "paid":
        document["status"], document["fully_paid_on"] = "authorised", None
    documents.put(store, tenant, document)
    return payment, []
