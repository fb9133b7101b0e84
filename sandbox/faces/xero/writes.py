"""Xero's writes over the books: a Contacts, Invoices or Payments element checked the way
Xero checks it (its field names, lengths and enumerations), read into the books' fields,
saved by the books' rules, and answered in Xero's shape and words.

Decisions (where Xero's docs leave room):
- IsCustomer / IsSupplier are read-only: the books set them from documents (a sales
  invoice makes the contact a customer, a bill a supplier). Values sent are ignored.
- POST /Contacts with a ContactNumber and no ContactID updates the contact of that number;
  POST /Invoices with an InvoiceNumber (ACCREC) updates the invoice of that number.
- An invoice's Contact given by Name only is the active contact of that name, or a new one.
- Invoices with payments, and PAID/VOIDED/DELETED invoices, refuse every change with
  "Invoice not of valid status for modification"; AUTHORISED may go to VOIDED (no
  payments), not DELETED; DRAFT/SUBMITTED may go to DELETED.
- Clients may send dates as "YYYY-MM-DD", ISO date-times or MS-JSON."""
from __future__ import annotations

from ...core.util import parse_day
from ...ledger import contacts, documents, payments
from ...ledger.common import check_len
from . import records

NOT_MODIFIABLE = "Invoice not of valid status for modification"
CONTACT_LIMITS = (("Name", 255), ("FirstName", 255), ("LastName", 255), ("EmailAddress", 255),
                  ("ContactNumber", 50), ("AccountNumber", 50), ("CompanyNumber", 50), ("TaxNumber", 50),
                  ("Website", 2048), ("BankAccountDetails", 255))
ADDRESS_LIMITS = (("AddressLine1", 500), ("AddressLine2", 500), ("AddressLine3", 500), ("AddressLine4", 500),
                  ("City", 255), ("Region", 255), ("PostalCode", 50), ("Country", 50), ("AttentionTo", 255))
PHONE_LIMITS = (("PhoneNumber", 50), ("PhoneAreaCode", 10), ("PhoneCountryCode", 20))


def words(problem, existing=None) -> str:
    """A problem of the books in Xero's words."""
    code, details = getattr(problem, "code", ""), getattr(problem, "details", {})
    if code == "name_missing":
        return "The contact name must be specified." if existing is None else "The contact name cannot be empty."
    if code == "name_taken":
        return (f"The contact name {details['name']} is already assigned to another contact. "
                "The contact name must be unique across all active contacts.")
    if code == "bad_email":
        return "Email address must be valid."
    if code == "not_modifiable":
        return NOT_MODIFIABLE
    if code == "bad_new_status":
        return f"A new invoice cannot be created with status {details['status'].upper()}."
    if code == "document_not_found":
        return "Invoice could not be found"
    return str(problem)


# --- contacts ------------------------------------------------------------------------

def contact_problems(data: dict) -> list[str]:
    """What Xero refuses in a contact body before the books see it."""
    errors: list[str] = []
    for field, limit in CONTACT_LIMITS:
        check_len(errors, data.get(field), field, limit)
    status = data.get("ContactStatus")
    if status is not None and status not in ("ACTIVE", "ARCHIVED"):
        errors.append(f"ContactStatus {status} is not valid; use ACTIVE or ARCHIVED.")
    for address in data.get("Addresses") or []:
        if not isinstance(address, dict) or address.get("AddressType") not in records.ADDRESS_TYPES:
            errors.append("AddressType must be POBOX or STREET.")
            continue
        for field, limit in ADDRESS_LIMITS:
            check_len(errors, address.get(field), field, limit)
    for phone in data.get("Phones") or []:
        if not isinstance(phone, dict) or phone.get("PhoneType") not in records.PHONE_TYPES:
            errors.append("PhoneType must be DEFAULT, DDI, MOBILE, FAX or OFFICE.")
            continue
        for field, limit in PHONE_LIMITS:
            check_len(errors, phone.get(field), field, limit)
    persons = data.get("ContactPersons")
    if persons is not None and (not isinstance(persons, list) or not all(isinstance(p, dict) for p in persons)):
        errors.append("ContactPersons must be a list of people.")
    return errors


def save_contact(store, tenant: str, data: dict, mode: str, path_id: str | None = None):
    """mode: create (PUT), upsert (POST /Contacts), update (POST /Contacts/{id}).
    Returns (the contact in Xero's shape or None, [messages])."""
    if not isinstance(data, dict):
        return None, ["A contact must be an object."]
    contact_id = path_id or data.get("ContactID")
    existing = None
    if contact_id:
        existing = contacts.get(store, tenant, contact_id)
        if existing is None:
            return None, [f"The contact with ContactID {contact_id} could not be found." if mode != "create"
                          else "A new contact cannot have a ContactID."]
        if mode == "create":
            return None, ["A new contact cannot have a ContactID."]
    elif mode == "upsert" and data.get("ContactNumber"):
        existing = contacts.by_number(store, tenant, data["ContactNumber"])
    errors = contact_problems(data)
    if errors:
        return None, errors
    changes = records.contact_changes(data, existing)
    if existing is None and not isinstance(changes.get("name"), str):
        changes["name"] = ""
    record, problems = contacts.save(store, tenant, changes, existing["id"] if existing else None)
    if problems:
        return None, [words(p, existing) for p in problems]
    return records.contact(record), []


def _resolve_contact(store, tenant, ref, errors) -> dict | None:
    """The contact an invoice names: by ContactID, or by Name (made when there is none)."""
    if not isinstance(ref, dict) or not (ref.get("ContactID") or ref.get("Name") or ref.get("ContactNumber")):
        errors.append("A Contact must be specified for this type of transaction")
        return None
    if ref.get("ContactID"):
        record = contacts.get(store, tenant, ref["ContactID"])
        if record is None:
            errors.append("The Contact specified could not be found.")
        return record
    if ref.get("Name"):
        record = contacts.by_name(store, tenant, ref["Name"]) if isinstance(ref["Name"], str) else None
        if record is not None:
            return record
        doc, problems = save_contact(store, tenant, {k: v for k, v in ref.items() if k != "ContactID"}, "create")
        errors.extend(problems)
        return contacts.get(store, tenant, doc["ContactID"]) if doc else None
    errors.append("The Contact specified could not be found.")
    return None


# --- invoices ------------------------------------------------------------------------

def save_invoice(store, tenant: str, data: dict, mode: str, path_id: str | None = None):
    """mode: create (PUT), upsert (POST /Invoices), update (POST /Invoices/{id}).
    Returns (the invoice in Xero's shape or None, [messages])."""
    if not isinstance(data, dict):
        return None, ["An invoice must be an object."]
    invoice_id = path_id or data.get("InvoiceID")
    existing = None
    if invoice_id:
        existing = documents.get(store, tenant, invoice_id)
        if existing is None or mode == "create":
            return None, ["A new invoice cannot have an InvoiceID." if mode == "create" and existing
                          else f"Invoice with InvoiceID {invoice_id} could not be found."]
    elif mode == "upsert" and data.get("InvoiceNumber") and data.get("Type", "ACCREC") == "ACCREC":
        existing = documents.by_number(store, tenant, data["InvoiceNumber"], "sale")
    changes: dict = {}
    status = data.get("Status")
    if status is not None:
        if status not in records.STATUSES:
            return None, [f"Status {status} is not valid."]
        changes["status"] = status.lower()
    kind = data.get("Type")
    if kind is None and existing is None:
        return None, ["Invoice Type must be ACCREC or ACCPAY."]
    if kind is not None:
        if kind not in records.INVOICE_TYPES:
            return None, [f"Invoice Type {kind} is not supported by the sandbox."]
        if existing and records.INVOICE_TYPES[kind] != existing["kind"]:
            return None, ["The Type of an invoice cannot be changed."]
        changes["kind"] = records.INVOICE_TYPES[kind]
    if data.get("LineAmountTypes") is not None:
        amounts = str(data["LineAmountTypes"]).lower()
        if amounts not in records.LINE_AMOUNT_TYPES:
            return None, [f"LineAmountTypes {data['LineAmountTypes']} is not valid; use Exclusive, Inclusive or NoTax."]
        changes["amounts"] = amounts
    try:
        if data.get("Date"):
            changes["date"] = parse_day(data["Date"])
        if data.get("DueDate"):
            changes["due_date"] = parse_day(data["DueDate"])
    except ValueError as exc:
        return None, [str(exc)]
    errors: list[str] = []
    number = data.get("InvoiceNumber")
    if number is not None and not isinstance(number, str):
        errors.append("InvoiceNumber must be text.")
    elif number and len(number) > 255:
        errors.append("InvoiceNumber must not be more than 255 characters long.")
    elif number is not None:
        changes["number"] = number
    if "Reference" in data:
        changes["reference"] = data["Reference"] or ""
    if "Contact" in data or existing is None:
        contact = _resolve_contact(store, tenant, data.get("Contact"), errors)
        if contact is not None:
            changes["contact_id"] = contact["id"]
    lines = data.get("LineItems")
    if lines is not None:
        if not isinstance(lines, list):
            errors.append("LineItems must be a list.")
            lines = []
        changes["lines"] = [records.line_changes(x) for x in lines]
    for xero, field in (("Url", "url"), ("BrandingThemeID", "branding_theme_id"), ("SentToContact", "sent"),
                        ("ExpectedPaymentDate", "expected_payment"), ("CurrencyCode", "currency")):
        if data.get(xero) is not None:
            changes[field] = data[xero]
    if existing and existing["status"] == "authorised" and changes.get("status") == "deleted":
        errors.append(NOT_MODIFIABLE)  # Xero: an approved invoice is voided, never deleted
    if errors:
        return None, errors
    record, problems = documents.save(store, tenant, changes, existing["id"] if existing else None)
    if problems:
        return None, [words(p) for p in problems]
    return records.invoice(record, contacts.get(store, tenant, record["contact_id"])), []


# --- payments ------------------------------------------------------------------------

def create_payment(store, tenant: str, data: dict):
    """A payment against the invoice an element names, into the account it names."""
    if not isinstance(data, dict):
        return None, ["A payment must be an object."]
    ref = data.get("Invoice") or {}
    document = None
    if isinstance(ref, dict) and ref.get("InvoiceID"):
        document = documents.get(store, tenant, ref["InvoiceID"])
    elif isinstance(ref, dict) and ref.get("InvoiceNumber"):
        document = documents.by_number(store, tenant, ref["InvoiceNumber"])
    if document is None:
        return None, ["Invoice could not be found" if ref else "An Invoice must be specified for a payment."]
    account = data.get("Account") or {}
    account = (account.get("Code") or str(account.get("AccountID") or "")) if isinstance(account, dict) else ""
    try:
        day = parse_day(data.get("Date"))
    except ValueError as exc:
        return None, [str(exc)]
    record, problems = payments.apply(store, tenant, document["id"], account, data.get("Amount"), day,
                                      data.get("Reference") or "")
    if problems:
        return None, [words(p) for p in problems]
    return payment(store, tenant, record), []


def payment(store, tenant: str, record: dict) -> dict:
    document = documents.get(store, tenant, record["document_id"])
    return records.payment(record, document, contacts.get(store, tenant, document["contact_id"]) if document else None)
