"""Xero's payloads <-> the interface's dataclasses: pure functions, no HTTP.

Reading is strict (see "reading records" below): a value of a type Xero's schema doesn't
give it makes the record unreadable (MalformedRecord), and a list read leaves that record
out of its page rather than stopping. Writing builds the bodies Xero's Accounting API
takes (MS-JSON dates read, ISO dates written, LineAmountTypes "Exclusive": Factory's
amounts are before tax).
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal

from ...base import (
    DocumentDraft, PaymentState, RecordProblem, Rejected, RemoteAccount, RemoteAddress, RemoteContact, RemoteItem,
    RemotePerson, RemoteTaxRate, RetriableError,
)


MS_DATE = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/")


def parse_xero_datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    if value[-7:] == "+0000)/" and value[:6] == "/Date(":  # how Xero writes every time: read without the regex
        digits = value[6:-7]
        if digits.isdecimal():  # what the regex's \d+ takes
            return datetime.fromtimestamp(int(digits) / 1000, timezone.utc)
    match = MS_DATE.match(value)
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=timezone.utc)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def http_date(moment: datetime) -> str:
    """If-Modified-Since as the spec types it: an RFC 3339 date-time, in UTC."""
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


# --- writing documents ----------------------------------------------------------------

def type_code(draft: DocumentDraft) -> str:
    return "ACCREC" if draft.kind == "sales_invoice" else "ACCPAY"


def same_document(row: dict, draft: DocumentDraft) -> bool:
    """A listed invoice could be this draft's: same type, same contact, not deleted or voided."""
    return (row.get("Type") == type_code(draft) and row.get("Status") not in ("DELETED", "VOIDED")
            and (row.get("Contact") or {}).get("ContactID") == draft.contact_remote_id)


def day(value):
    moment = parse_xero_datetime(value) if isinstance(value, str) else None
    return moment.date() if moment else None


def invoice_body(draft: DocumentDraft, remote_id: str | None) -> dict:
    body = {
        "Type": type_code(draft),
        "Contact": {"ContactID": draft.contact_remote_id},
        "Date": draft.issue_date.isoformat(), "DueDate": draft.due_date.isoformat(),
        "LineAmountTypes": "Exclusive", "CurrencyCode": draft.currency,
        "LineItems": [{
            "Description": l.description, "Quantity": l.quantity, "UnitAmount": l.unit_price,
            "DiscountRate": l.discount_percent, "LineAmount": l.line_amount,
            **({"TaxType": l.tax_code} if l.tax_code else {}),
            **({"AccountCode": l.account_code} if l.account_code else {}),
            **({"ItemCode": l.item_code} if l.item_code else {}),
        } for l in draft.lines],
    }
    if draft.approved is not None:  # None: an update leaves the status Xero holds
        body["Status"] = "AUTHORISED" if draft.approved else "DRAFT"
    if draft.number:
        body["InvoiceNumber"] = draft.number
    if draft.reference or remote_id:  # an update may clear it
        body["Reference"] = draft.reference or ""
    if remote_id:
        body["InvoiceID"] = remote_id
    return body


def problem_text(data) -> str:
    """The message of a problem answer (401, 403): Detail, Message or Title."""
    if isinstance(data, dict):
        return str(data.get("Detail") or data.get("detail") or data.get("Message") or data.get("Title") or "")
    return ""


def element_rejection(element: dict) -> Rejected:
    message, details = element_messages(element)
    taken = any("must be unique" in m and "Invoice" in m for m in details)
    return Rejected(message, details, reason=Rejected.DUPLICATE_NUMBER if taken else None)


def element_messages(element: dict) -> tuple[str, list[str]]:
    messages = [e.get("Message", "") for e in element.get("ValidationErrors") or [] if e.get("Message")]
    return (messages[0] if messages else "Xero refused the request."), messages


def validation_messages(data, status: int) -> tuple[str, list[str]]:
    """(the first message, all of them) of a refusal: a validation envelope's elements'
    messages, else its Message or Detail; `data` None when the body was not JSON."""
    if data is None:
        return f"Xero refused the request (HTTP {status}).", []
    messages: list[str] = []
    if isinstance(data, dict):
        for element in data.get("Elements") or []:
            messages.extend(element_messages(element)[1])
        if not messages and data.get("Message"):
            messages.append(str(data["Message"]))
        if not messages and data.get("Detail"):
            messages.append(str(data["Detail"]))
    return (messages[0] if messages else f"Xero refused the request (HTTP {status})."), messages


# --- reading records ------------------------------------------------------------------
# What Xero sends is read strictly: every value Factory takes must have the type Xero's
# own schema gives it (text, true/false, a number, a date). A record that has another
# shape is not read at all: MalformedRecord says which value is wrong, and a list read
# leaves the record out of its page (Page.failures) instead of stopping. Nothing is
# coerced (`Name: 123` is a malformed contact, not one named "123").

class MalformedRecord(RetriableError):
    """A record in a shape Xero's types don't allow. A list read reports it in its page's
    failures and goes on; reading a single record (or a write's answer) raises it: worth
    trying again later, when it may have been mended in Xero (and a write that got this
    answer may have been applied)."""

    def __init__(self, noun: str, problem: RecordProblem):
        super().__init__(f"Xero sent this {noun} in a shape Factory can't read ({problem.reason}).")
        self.problem = problem


class _Unreadable(ValueError):
    """Raised by the fast reading of a contact; why is worked out afterwards."""


# what a wrong value in a record can raise while it is read
_SHAPE_ERRORS = (_Unreadable, AttributeError, TypeError, ValueError, KeyError, IndexError, ArithmeticError,
                 OSError)
TEXT, FLAG, NUMBER, DATE = "text", "true or false", "a number", "a date"
_IS = {
    TEXT: lambda v: type(v) is str,
    FLAG: lambda v: type(v) is bool,
    NUMBER: lambda v: type(v) is int or (type(v) in (Decimal, float) and Decimal(v).is_finite()),  # not NaN
    DATE: lambda v: type(v) is str and (not v or _reads_as_date(v)),
}

# The records' shapes, as far as Factory reads them: {field: kind, or (what one entry of a
# list is, its shape), or a nested object's shape}; the fields a record must have.
PHONE = {"PhoneType": TEXT, "PhoneNumber": TEXT, "PhoneAreaCode": TEXT, "PhoneCountryCode": TEXT}
ADDRESS_LINES = ("AddressLine1", "AddressLine2", "AddressLine3", "AddressLine4")
ADDRESS = {"AddressType": TEXT, **dict.fromkeys(ADDRESS_LINES, TEXT), "City": TEXT, "Region": TEXT,
           "PostalCode": TEXT, "Country": TEXT}
PERSON = {"FirstName": TEXT, "LastName": TEXT, "EmailAddress": TEXT}
CONTACT = {"ContactID": TEXT, "Name": TEXT, "EmailAddress": TEXT, "Website": TEXT, "TaxNumber": TEXT,
           "ContactStatus": TEXT, "IsCustomer": FLAG, "IsSupplier": FLAG, "UpdatedDateUTC": DATE,
           "Phones": ("a phone", PHONE), "Addresses": ("an address", ADDRESS),
           "ContactPersons": ("a contact person", PERSON)}
ITEM_DETAILS = {"UnitPrice": NUMBER, "AccountCode": TEXT, "TaxType": TEXT}
ITEM = {"ItemID": TEXT, "Code": TEXT, "Name": TEXT, "Description": TEXT, "UpdatedDateUTC": DATE,
        "SalesDetails": ITEM_DETAILS, "PurchaseDetails": ITEM_DETAILS}
ACCOUNT = {"AccountID": TEXT, "Code": TEXT, "Name": TEXT, "Type": TEXT, "Status": TEXT}
TAX_RATE = {"TaxType": TEXT, "Name": TEXT, "Status": TEXT, "EffectiveRate": NUMBER, "DisplayTaxRate": NUMBER,
            "CanApplyToRevenue": FLAG, "CanApplyToExpenses": FLAG}
INVOICE = {"InvoiceID": TEXT, "InvoiceNumber": TEXT, "Status": TEXT, "Total": NUMBER, "AmountPaid": NUMBER,
           "AmountDue": NUMBER, "Payments": ("a payment", {"Date": DATE})}


def _reads_as_date(value: str) -> bool:
    try:
        return parse_xero_datetime(value) is not None
    except (ValueError, OverflowError, OSError):
        return False


def _shape_problem(row, shape: dict, required: tuple = (), whose: str = "") -> str | None:
    """What is wrong with this record (or part of one) for this shape, in a few words; None
    if nothing is. `whose`: where a nested part sits, for the words (" of an address")."""
    for field in required:
        if row.get(field) in (None, ""):
            return f"{field} is missing"
    for field, kind in shape.items():
        value = row.get(field)
        if value is None:
            continue
        if type(kind) is tuple:
            entry_noun, entry_shape = kind
            if type(value) is not list:
                return f"{field}{whose} is not a list"
            for entry in value:
                problem = (f"{field}{whose} holds something that is not {entry_noun}" if type(entry) is not dict
                           else _shape_problem(entry, entry_shape, whose=f" of {entry_noun}"))
                if problem:
                    return problem
        elif type(kind) is dict:
            if type(value) is not dict:
                return f"{field}{whose} is not an object"
            problem = _shape_problem(value, kind, whose=f" of {field}")
            if problem:
                return problem
        elif not _IS[kind](value):
            return f"{field}{whose} is not {kind}"
    return None


def _reason(row, shape: dict, required: tuple) -> str | None:
    return _shape_problem(row, shape, required) if type(row) is dict else "it is not an object"


def _malformed(noun: str, row, id_field: str, name_field: str, reason: str | None) -> MalformedRecord:
    """The error for an unreadable record, naming it as far as its id and name are text."""
    remote_id = name = None
    if type(row) is dict:
        remote_id, name = row.get(id_field), row.get(name_field)
        if remote_id is not None and type(remote_id) is not str:
            remote_id = repr(remote_id)[:40]  # shown in the log as it came, cut short
    return MalformedRecord(noun, RecordProblem(
        remote_id[:100] if remote_id else None, name if type(name) is str else None,
        reason or "a value Factory reads is not of the type Xero's schema gives it"))


def _check(noun: str, row, shape: dict, required: tuple, id_field: str, name_field: str) -> None:
    """MalformedRecord unless the row has this shape (for records read a few hundred at a time)."""
    reason = _reason(row, shape, required)
    if reason:
        raise _malformed(noun, row, id_field, name_field, reason)


def read_each(rows: list, read) -> tuple[list, list[RecordProblem]]:
    """Each row read on its own: (the records read, the problems of those that could not be)."""
    records, failures = [], []
    append = records.append
    for row in rows:
        try:
            append(read(row))
        except MalformedRecord as exc:
            failures.append(exc.problem)
    return records, failures


def listed(data, field: str) -> list:
    """The list of records in an answer's envelope ({"Contacts": [...]})."""
    if type(data) is not dict:
        raise RetriableError("Xero sent an unreadable answer (not an object).")
    rows = data.get(field)
    if rows is not None and type(rows) is not list:
        raise RetriableError(f"Xero sent an unreadable answer ({field} is not a list).")
    return rows or []


def money(value) -> Decimal:
    return Decimal(value) if type(value) is not float else Decimal(str(value))


def optional_money(value):
    return money(value) if value is not None else None


def item(row: dict) -> RemoteItem:
    _check("item", row, ITEM, ("ItemID", "Code"), "ItemID", "Name")
    sales, purchase = row.get("SalesDetails") or {}, row.get("PurchaseDetails") or {}
    return RemoteItem(
        remote_id=row["ItemID"], code=row["Code"], name=row.get("Name"), description=row.get("Description"),
        sale_price=optional_money(sales.get("UnitPrice")), purchase_cost=optional_money(purchase.get("UnitPrice")),
        updated_at=parse_xero_datetime(row.get("UpdatedDateUTC")),
        sales_account_code=sales.get("AccountCode") or None, sales_tax_type=sales.get("TaxType") or None,
        purchase_account_code=purchase.get("AccountCode") or None,
        purchase_tax_type=purchase.get("TaxType") or None)


def account(row: dict) -> RemoteAccount:
    _check("account", row, ACCOUNT, ("AccountID",), "AccountID", "Name")
    return RemoteAccount(remote_id=row["AccountID"], code=row.get("Code"), name=row.get("Name") or "",
                         kind=row.get("Type") or "", archived=row.get("Status") != "ACTIVE")


def tax_rate(row: dict) -> RemoteTaxRate:
    _check("tax rate", row, TAX_RATE, ("TaxType",), "TaxType", "Name")
    rate = row.get("EffectiveRate")
    if rate is None:
        rate = row.get("DisplayTaxRate")
    if rate is None:  # never read as 0 %: a sales tax left out of an invoice
        raise _malformed("tax rate", row, "TaxType", "Name", "EffectiveRate is missing")
    return RemoteTaxRate(code=row["TaxType"], name=row.get("Name") or "", rate=money(rate),
                         archived=row.get("Status") != "ACTIVE",
                         applies_to_sales=row.get("CanApplyToRevenue") is not False,
                         applies_to_purchases=row.get("CanApplyToExpenses") is not False)


PHONE_ORDER = ("DEFAULT", "MOBILE", "DDI")


def _phone_text(phone: dict) -> str:
    """Area code and number as people write them locally; the country code only when
    there is no area code."""
    number = (phone.get("PhoneNumber") or "").strip()
    if not number:
        return ""
    area, country = (phone.get("PhoneAreaCode") or "").strip(), (phone.get("PhoneCountryCode") or "").strip()
    if number.startswith(("0", "+", "1")):  # already complete (trunk prefix, international, 13/1300/1800)
        return number
    if area:
        return f"{area} {number}"
    return f"+{country.lstrip('+')} {number}" if country else number


ADDRESS_KINDS = {"POBOX": "postal", "STREET": "street"}


def contact(row: dict) -> RemoteContact:
    # Called for every contact of every page (tens of thousands per import): written for
    # speed, on the read-ahead thread; the same result as the plain reading. A value of
    # the wrong type raises on its way (a method it lacks, a join, or the type checks
    # below, on the values that would otherwise go through as they came); only then is
    # the record looked at again (_shape_problem) to say what is wrong with it.
    try:
        get = row.get
        contact_id, name, email, website, tax_number = (get("ContactID"), get("Name"), get("EmailAddress"),
                                                        get("Website"), get("TaxNumber"))
        status, customer, supplier = get("ContactStatus"), get("IsCustomer"), get("IsSupplier")
        if (type(contact_id) is not str or not contact_id
                or (type(name) is not str and name is not None) or (type(email) is not str and email is not None)
                or (type(website) is not str and website is not None)
                or (type(tax_number) is not str and tax_number is not None)
                or (type(status) is not str and status is not None)
                or (type(customer) is not bool and customer is not None)
                or (type(supplier) is not bool and supplier is not None)):
            raise _Unreadable
        phone = None
        phones = get("Phones")
        if phones:  # a non-empty value that is not a list of objects raises below
            found = {}
            for entry in phones:
                if entry.get("PhoneNumber"):  # most of Xero's four phone slots are empty
                    text = _phone_text(entry)
                    if text:
                        found[entry.get("PhoneType")] = text
            if found:
                phone = next((found[kind] for kind in PHONE_ORDER if kind in found), None)
        elif phones is not None and type(phones) is not list:  # {}, "", 0, false
            raise _Unreadable
        addresses = []
        places = get("Addresses")
        if places:
            for address in places:
                kind = ADDRESS_KINDS.get(address.get("AddressType"))
                if not kind:
                    continue
                line = address.get
                lines = [text for text in (line("AddressLine1"), line("AddressLine2"), line("AddressLine3"),
                                           line("AddressLine4")) if text]
                first = lines[0] if lines else None
                rest = ", ".join(lines[1:]) or None if len(lines) > 1 else None  # the join checks their type
                city, region, postcode, country = line("City"), line("Region"), line("PostalCode"), line("Country")
                if ((type(first) is not str and first is not None) or (type(city) is not str and city is not None)
                        or (type(region) is not str and region is not None)
                        or (type(postcode) is not str and postcode is not None)
                        or (type(country) is not str and country is not None)):
                    raise _Unreadable
                if first or rest or city or region or postcode or country:
                    addresses.append(RemoteAddress(kind, first, rest, city, region, postcode, country))
        elif places is not None and type(places) is not list:
            raise _Unreadable
        people = ()
        persons = get("ContactPersons")
        if persons:
            found = []
            for person in persons:
                first_name, last_name = person.get("FirstName"), person.get("LastName")
                if first_name or last_name:
                    person_email = person.get("EmailAddress")
                    if type(person_email) is not str and person_email is not None:
                        raise _Unreadable
                    found.append(RemotePerson(" ".join(p for p in (first_name, last_name) if p), person_email))
            people = tuple(found)
        elif persons is not None and type(persons) is not list:
            raise _Unreadable
        updated = get("UpdatedDateUTC")
        updated_at = parse_xero_datetime(updated) if updated else None  # raises for what is not text
        if updated_at is None and updated is not None and updated != "":
            raise _Unreadable
        return RemoteContact(contact_id, name or "", email or None, phone, website or None, tax_number or None,
                             customer is True, supplier is True, status == "ARCHIVED", tuple(addresses), people,
                             updated_at)
    except _SHAPE_ERRORS:
        raise _malformed("contact", row, "ContactID", "Name", _reason(row, CONTACT, ("ContactID",))) from None


def payment_state(row: dict) -> PaymentState:
    _check("invoice", row, INVOICE, ("InvoiceID", "Total", "AmountPaid", "AmountDue"), "InvoiceID", "InvoiceNumber")
    dates = [parse_xero_datetime(p["Date"]) for p in row.get("Payments") or () if p.get("Date")]
    return PaymentState(remote_id=row["InvoiceID"], number=row.get("InvoiceNumber"),
                        status=row.get("Status") or "", total=money(row["Total"]),
                        amount_paid=money(row["AmountPaid"]), amount_due=money(row["AmountDue"]),
                        last_payment_date=max(dates, default=None))
