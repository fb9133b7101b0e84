"""The books' contacts: customers and suppliers, with their addresses, phones and people.

A contact record:
    id, name, number (the business's own contact number), first_name, last_name, email,
    status ("active" | "archived"), is_customer, is_supplier, tax_number, website,
    account_number, company_number, bank_account, currency,
    addresses: [{kind: "postal" | "street", lines: [up to 4], city, region, postcode, country, attention}],
    phones: [{kind: "default" | "direct" | "mobile" | "fax" | "office", number, area, country}],
    people: [{first_name, last_name, email, include_in_emails}],
    defaults: {sales_tax, purchase_tax, sales_account, purchase_account} (codes), groups, updated_ms

Rules: a name is required and unique among active contacts (case and spaces aside); an
email, when given, looks like one; is_customer / is_supplier follow the documents (a sale
makes a customer, a purchase a supplier) and the list a face creates the contact in (a
QuickBooks Customer or Vendor); nothing unsets them."""
from __future__ import annotations

import re

from ..core.util import dumps
from . import seed
from .common import CONTACT, CREATED, UPDATED, Problem, emit, new_id, touch, unchanged

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
STATUSES = ("active", "archived")
ADDRESS_KINDS = ("postal", "street")
PHONE_KINDS = ("default", "direct", "mobile", "fax", "office")
FIELDS = ("name", "number", "first_name", "last_name", "email", "status", "tax_number", "website",
          "account_number", "company_number", "bank_account", "currency", "addresses", "phones", "people",
          "defaults", "groups")


def blank(name: str = "") -> dict:
    return {"id": new_id(), "name": name, "number": "", "first_name": "", "last_name": "", "email": "",
            "status": "active", "is_customer": False, "is_supplier": False, "tax_number": "", "website": "",
            "account_number": "", "company_number": "", "bank_account": "", "currency": "", "addresses": [],
            "phones": [], "people": [], "defaults": {}, "groups": []}


def get(store, tenant: str, contact_id: str) -> dict | None:
    return store.get_contact(tenant, contact_id)


def reader(store, tenant: str):
    """contact id -> the contact (or None), each read once: for an answer that names the
    contact of many documents."""
    seen: dict = {}

    def contact(contact_id):
        if contact_id not in seen:
            seen[contact_id] = get(store, tenant, contact_id)
        return seen[contact_id]
    return contact


def by_name(store, tenant: str, name: str) -> dict | None:
    """The active contact of that name (case and spaces aside)."""
    row = store.one("SELECT doc FROM contacts WHERE tenant_id=? AND name_lower=? AND status != 'archived'",
                    (tenant, name.strip().lower()))
    return store.doc(row) if row else None


def by_number(store, tenant: str, number: str) -> dict | None:
    row = store.one("SELECT doc FROM contacts WHERE tenant_id=? AND doc LIKE ?",
                    (tenant, '%"number":' + dumps(number) + "%"))
    return store.doc(row) if row else None


def name_taken(store, tenant: str, name: str, except_id: str | None = None) -> bool:
    return store.one("SELECT contact_id FROM contacts WHERE tenant_id=? AND name_lower=? AND status != 'archived' "
                     "AND contact_id != ?", (tenant, name.strip().lower(), except_id or "")) is not None


def save(store, tenant: str, changes: dict, contact_id: str | None = None):
    """A contact created (no contact_id) or changed: `changes` holds the fields to set
    (lists are replaced whole; a face merges them its package's way first). Returns
    (record or None, [Problem])."""
    existing = None
    if contact_id:
        existing = get(store, tenant, contact_id)
        if existing is None:
            return None, [Problem("not_found", "The contact could not be found.", id=contact_id)]
    record = dict(existing) if existing else blank()
    for field in FIELDS:
        if field in changes and changes[field] is not None:
            value = changes[field]
            record[field] = value.strip() if isinstance(value, str) else value
    for role in ("is_customer", "is_supplier"):  # made in a face's Customer or Vendor list
        if changes.get(role) is True:
            record[role] = True
    problems: list[Problem] = []
    if not isinstance(record["name"], str) or not record["name"]:
        problems.append(Problem("name_missing", "The contact needs a name." if existing is None
                                else "The contact's name cannot be empty."))
    if record["status"] not in STATUSES:
        problems.append(Problem("bad_status", f"A contact is active or archived, not {record['status']}.",
                                status=record["status"]))
    if record["email"] and not EMAIL_RE.match(record["email"]):
        problems.append(Problem("bad_email", "The email address must be valid."))
    if not problems and record["status"] != "archived" and name_taken(store, tenant, record["name"], record["id"]):
        problems.append(Problem("name_taken", f"The name {record['name']} is already used by another contact: "
                                              "names must be unique across all active contacts.",
                                name=record["name"]))
    if problems:
        return None, problems
    if unchanged(record, existing):
        return existing, []
    store.put_contact(tenant, touch(store, record))
    emit(store, tenant, CONTACT, UPDATED if existing else CREATED, record["id"])
    return record, []


def mark(store, tenant: str, contact_id: str, kind: str) -> None:
    """A document of `kind` ("sale" | "purchase") made the contact a customer or a supplier."""
    record = get(store, tenant, contact_id)
    if record is None:
        return
    field = "is_customer" if kind == "sale" else "is_supplier"
    if not record.get(field):
        record[field] = True
        store.put_contact(tenant, touch(store, record))
        emit(store, tenant, CONTACT, UPDATED, contact_id)


def bulk(store, tenant: str, count: int, customers: int = 0, suppliers: int = 0, both: int = 0) -> int:
    """`count` realistic contacts added at once (the import benchmarks' books)."""
    start = store.one("SELECT count(*) AS n FROM contacts WHERE tenant_id=?", (tenant,))["n"] + 1
    records = seed.bulk_contacts(tenant, count, customers, suppliers, both, start, store.clock.now_ms())
    store.put_contacts_bulk(tenant, records)
    return len(records)
