"""QuickBooks' Invoice and Bill bodies read into the books' fields, with Intuit's
checks and faults: a customer or vendor reference that exists (2500), at least one line
(6000), a tax code on every line of an Australian company (6000), DocNumber at most 21
characters (6000). Without a DueDate a document is due on receipt (its TxnDate). Refs
are by Id (ItemRef, AccountRef, TaxCodeRef); the books keep codes, so each is read back
to its code. Creates may carry empty strings and read-only fields (TotalAmt, Balance,
domain, sparse...): they are ignored, never refused."""
from __future__ import annotations

from ...core.util import day_from_ms
from .records import DOCUMENTS, FACE, TAX_CALCULATION

LINE_KINDS = ("SalesItemLineDetail", "ItemBasedExpenseLineDetail", "AccountBasedExpenseLineDetail")


class Fault(Exception):
    def __init__(self, code: str, message: str, detail: str):
        super().__init__(detail)
        self.code, self.message, self.detail = code, message, detail


def _business(detail: str) -> Fault:
    return Fault("6000", "A business validation error has occurred while processing your request",
                 f"Business Validation Error: {detail}")


def _ref(store, tenant: str, kind: str, ref) -> str | None:
    """The books' id a reference names ({"value": "12"}), None if it names nothing."""
    value = ref.get("value") if isinstance(ref, dict) else None
    return store.face_record(FACE, tenant, kind, value) if value not in (None, "") else None


def document_changes(store, tenant: str, body: dict, entity: str, existing: dict | None, lookups: dict) -> dict:
    """The books' fields an Invoice or Bill body sets (raises Fault)."""
    kind, _, ref_field, contact_kind = DOCUMENTS[entity]
    changes: dict = {"kind": kind} if existing is None else {}
    if ref_field in body or existing is None:
        contact_id = _ref(store, tenant, contact_kind, body.get(ref_field))
        if contact_id is None:
            raise Fault("2500", "Invalid Reference Id",
                        f"Invalid Reference Id : {ref_field[:-3]} assigned to this transaction has been deleted "
                        "or does not exist.")
        changes["contact_id"] = contact_id
    number = body.get("DocNumber")
    if isinstance(number, str) and number:
        if len(number) > 21:
            raise _business("The document number (DocNumber) can be at most 21 characters long.")
        changes["number"] = number
    for qbo, field in (("TxnDate", "date"), ("DueDate", "due_date")):
        if isinstance(body.get(qbo), str) and body[qbo]:
            changes[field] = body[qbo][:10]
    if existing is None and "due_date" not in changes:  # no terms given: due on receipt
        changes["due_date"] = changes.get("date") or day_from_ms(store.clock.now_ms())
    if isinstance(body.get("PrivateNote"), str):
        changes["reference"] = body["PrivateNote"]
    calculation = body.get("GlobalTaxCalculation")
    if calculation:
        amounts = next((k for k, v in TAX_CALCULATION.items() if v == calculation), None)
        if amounts is None:
            raise Fault("2010", "Request has invalid or unsupported property",
                        f"GlobalTaxCalculation {calculation} is not one of {', '.join(TAX_CALCULATION.values())}.")
        changes["amounts"] = amounts
    elif existing is None:
        changes["amounts"] = "exclusive"
    if "Line" in body or existing is None:
        changes["lines"] = _lines(store, tenant, body.get("Line"), entity, lookups)
    changes["status"] = "authorised"  # QuickBooks has no drafts: a saved invoice is one
    return changes


def _lines(store, tenant: str, given, entity: str, lookups: dict) -> list[dict]:
    if not isinstance(given, list):
        given = []
    items = {r["id"]: r for r in lookups["items"].values()}
    accounts = {r["id"]: r for r in lookups["accounts"].values()}
    codes = {r["id"]: r for r in lookups["tax_codes"].values()}
    lines = []
    for line in given:
        if not isinstance(line, dict) or line.get("DetailType") not in LINE_KINDS:
            continue  # SubTotalLineDetail and the like: QuickBooks computes them
        detail = line.get(line["DetailType"]) or {}
        if not isinstance(detail, dict):
            raise Fault("2010", "Request has invalid or unsupported property", f"{line['DetailType']} must be an object.")
        tax_id = _ref(store, tenant, "taxcode", detail.get("TaxCodeRef"))
        if tax_id is None or tax_id not in codes:
            raise _business("Make sure all your transactions have a GST rate before you save.")
        out = {"description": line.get("Description") or None, "tax_code": codes[tax_id]["code"],
               "line_amount": line.get("Amount")}
        if line["DetailType"] == "AccountBasedExpenseLineDetail":
            account_id = _ref(store, tenant, "account", detail.get("AccountRef"))
            if account_id not in accounts:
                raise Fault("2500", "Invalid Reference Id", "Invalid Reference Id : Accounts element id "
                            f"{(detail.get('AccountRef') or {}).get('value')} not found")
            out.update(account_code=accounts[account_id]["code"], quantity=1, unit_price=line.get("Amount"))
        else:
            item_id = _ref(store, tenant, "item", detail.get("ItemRef"))
            if item_id not in items:
                raise Fault("2500", "Invalid Reference Id", "Invalid Reference Id : Item element id "
                            f"{(detail.get('ItemRef') or {}).get('value')} not found")
            out.update(item_code=items[item_id]["code"], quantity=detail.get("Qty"), unit_price=detail.get("UnitPrice"))
            account_id = _ref(store, tenant, "account", detail.get("ItemAccountRef"))
            if account_id in accounts:
                out["account_code"] = accounts[account_id]["code"]
        lines.append(out)
    if not lines:
        raise _business("You must fill out at least one split line.")
    return lines
