"""The books' credit notes: what a business owes back on a sale (or is owed back on a
bill), allocated against that contact's documents of the same side.

A credit note is a document (documents.py) of kind "sale_credit" or "purchase_credit",
with its lines, tax and totals, plus `remaining` (what is not yet allocated) and
`allocations: [{id, document_id, amount, date}]`. The document it is allocated to
carries `credits: [{id, credit_id, number, amount, date}]`, its `credited` and a `due` that
much lower; a document that owes nothing more is paid.

Rules: only an authorised credit note is allocated, to an authorised document of its
contact and side, at most what the note has left and what the document still owes; a
note fully allocated is paid. A document with credits can't change, like one with
payments."""
from __future__ import annotations

from decimal import Decimal

from ..core.util import day_from_ms, money, to_decimal
from . import documents
from .common import Problem, new_id

SIDE = {"sale_credit": "sale", "purchase_credit": "purchase"}


def credit(store, tenant: str, document_id: str, amount, day: str | None = None, reason: str = ""):
    """The bookkeeper credits part (or all) of a document: a credit note of that amount
    (tax included, at the tax code of the document's first line) for the same contact,
    authorised and allocated to it at once. Returns (credit note or None, [Problem])."""
    document = documents.get(store, tenant, document_id)
    if document is None or document["kind"] not in SIDE.values():
        return None, [Problem("document_not_found", "The document could not be found.")]
    try:
        amount = to_decimal(amount)
    except ValueError:
        amount = None
    if amount is None or amount <= 0 or money(amount) != amount:
        return None, [Problem("bad_amount", "The credit must be an amount of more than zero, in cents.")]
    first = (document.get("lines") or [{}])[0]
    kind = next(k for k, side in SIDE.items() if side == document["kind"])
    day = day or day_from_ms(store.clock.now_ms())
    note, problems = documents.save(store, tenant, {
        "kind": kind, "contact_id": document["contact_id"], "status": "authorised", "amounts": "inclusive",
        "date": day, "due_date": day, "reference": reason or f"Credit for {document.get('number') or 'a document'}",
        "lines": [{"description": reason or f"Credit for {document.get('number') or 'a document'}",
                   "quantity": 1, "unit_price": amount, "account_code": first.get("account_code"),
                   "tax_code": first.get("tax_code")}]})
    if problems:
        return None, problems
    _, problems = allocate(store, tenant, note["id"], document_id, amount, day)
    return (documents.get(store, tenant, note["id"]), []) if not problems else (None, problems)


def allocate(store, tenant: str, credit_id: str, document_id: str, amount, day: str | None = None):
    """Part of a credit note set against a document. Returns (the allocation, [Problem])."""
    note, document = documents.get(store, tenant, credit_id), documents.get(store, tenant, document_id)
    if note is None or note["kind"] not in SIDE:
        return None, [Problem("credit_not_found", "The credit note could not be found.")]
    if document is None:
        return None, [Problem("document_not_found", "The document could not be found.")]
    amount = to_decimal(amount)
    problems = []
    if note["status"] != "authorised":
        problems.append(Problem("credit_not_authorised", "Only an authorised credit note can be allocated."))
    if document["status"] != "authorised" or document["kind"] != SIDE[note["kind"]] or \
            document["contact_id"] != note["contact_id"]:
        problems.append(Problem("wrong_document", "A credit note is allocated to an authorised document of its own "
                                                  "contact and side."))
    if amount is None or amount <= 0 or amount > Decimal(str(note.get("remaining", note["total"]))) or \
            amount > Decimal(str(document["due"])):
        problems.append(Problem("too_much", "The allocation must be more than zero and at most what the credit note "
                                            "has left and the document still owes."))
    if problems:
        return None, problems
    day = day or day_from_ms(store.clock.now_ms())
    allocation = {"id": new_id(), "document_id": document["id"], "amount": money(amount), "date": day}
    note["allocations"] = [*note.get("allocations", []), allocation]
    note["remaining"] = money(Decimal(str(note.get("remaining", note["total"]))) - allocation["amount"])
    if note["remaining"] == 0:
        note["status"] = "paid"
    documents.put(store, tenant, note)
    document["credits"] = [*document.get("credits", []), {"id": allocation["id"], "credit_id": note["id"],
                                                          "number": note.get("number") or "",
                                                          "amount": allocation["amount"], "date": day}]
    document["credited"] = money(Decimal(str(document.get("credited") or 0)) + allocation["amount"])
    document["due"] = money(Decimal(str(document["due"])) - allocation["amount"])
    if document["due"] == 0:
        document["status"], document["fully_paid_on"] = "paid", day
    documents.put(store, tenant, document)
    return allocation, []
