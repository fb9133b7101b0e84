"""The books: contacts, invoices, bills and payments with Xero's rules.

Decisions (where Xero's docs leave room):
- IsCustomer / IsSupplier are read-only here: Xero sets them from transactions (a sales
  invoice makes the contact a customer, a bill a supplier). Values sent in writes are ignored.
- summarizeErrors=true (the default) is all-or-nothing: when any element fails, nothing of
  the batch is saved and 400 lists the failing elements. summarizeErrors=false saves the
  good elements and returns 200 with every element, failing ones carrying
  HasValidationErrors/ValidationErrors and StatusAttributeString "ERROR".
- where: clauses joined by AND / && (and OR); ==, !=, <, >, <=, >=, .Contains(), .StartsWith(),
  .EndsWith(); string comparisons are case-insensitive (as Xero's are in practice).
- Invoice.Date/DueDate/FullyPaidOnDate and Payment.Date are written as MS-JSON dates
  (the spec marks them x-is-msdate) with Xero's DateString/DueDateString alongside;
  clients may send "YYYY-MM-DD", ISO date-times or MS-JSON.
- GET /Invoices without `page` (and without IDs/InvoiceNumbers) leaves LineItems out, as Xero does.
- Invoices with payments, and PAID/VOIDED/DELETED invoices, refuse every change with
  "Invoice not of valid status for modification"; AUTHORISED may go to VOIDED (no payments),
  not DELETED; DRAFT/SUBMITTED may go to DELETED.
"""
from __future__ import annotations

import re
import uuid
from decimal import Decimal

from . import seed
from ..core.util import day_from_ms, dumps, loads, money, ms_date, ms_from_day, parse_day, to_decimal

NOT_MODIFIABLE = "Invoice not of valid status for modification"
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
INVOICE_TYPES = ("ACCREC", "ACCPAY")
LINE_AMOUNT_TYPES = {"exclusive": "Exclusive", "inclusive": "Inclusive", "notax": "NoTax"}
TRANSITIONS = {
    None: {"DRAFT", "SUBMITTED", "AUTHORISED"},
    "DRAFT": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
    "SUBMITTED": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
    "AUTHORISED": {"AUTHORISED", "VOIDED"},
    "PAID": set(), "VOIDED": set(), "DELETED": set(),
}


class QueryError(Exception):
    pass


def new_id() -> str:
    return str(uuid.uuid4())


def emit(store, tenant, category, kind, resource_id):
    hook = getattr(store, "on_event", None)
    if hook:
        hook(tenant, category, kind, resource_id)


# --- where ---------------------------------------------------------------------------

_CLAUSE = re.compile(
    r'^\s*\(?\s*(?P<field>[A-Za-z][\w.]*?)'
    r'(?:\s*(?P<op>==|!=|>=|<=|>|<)\s*(?P<value>"(?:[^"\\]|\\.)*"|Guid\("[^"]*"\)|DateTime\([^)]*\)|true|false|null|-?[\d.]+)'
    r'|\.(?P<method>Contains|StartsWith|EndsWith)\("(?P<arg>(?:[^"\\]|\\.)*)"\))\s*\)?\s*$')


def _split(text: str, words: tuple[str, ...]) -> list[str]:
    parts, current, quoted, i = [], "", False, 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            quoted = not quoted
        if not quoted:
            hit = next((w for w in words if text.startswith(w, i)), None)
            if hit:
                parts.append(current)
                current, i = "", i + len(hit)
                continue
        current += ch
        i += 1
    parts.append(current)
    return parts


def _literal(text: str):
    if text.startswith('"'):
        return text[1:-1].replace('\\"', '"')
    if text.startswith("Guid("):
        return text[6:-2]
    if text.startswith("DateTime("):
        numbers = [int(x) for x in re.findall(r"\d+", text)]
        while len(numbers) < 3:
            numbers.append(1)
        return ms_from_day(f"{numbers[0]:04d}-{numbers[1]:02d}-{numbers[2]:02d}")
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    return Decimal(text)


def parse_where(where: str | None) -> list[list[tuple]]:
    """Disjunction of conjunctions of (field, op, value)."""
    if not where or not where.strip():
        return []
    result = []
    for alternative in _split(where, (" OR ", " or ", "||")):
        clauses = []
        for part in _split(alternative, (" AND ", " and ", "&&")):
            match = _CLAUSE.match(part)
            if not match:
                raise QueryError(f"Unable to parse the where clause: {part.strip()}")
            if match.group("method"):
                clauses.append((match.group("field"), match.group("method"), match.group("arg")))
            else:
                clauses.append((match.group("field"), match.group("op"), _literal(match.group("value"))))
        result.append(clauses)
    return result


def _field(doc: dict, path: str):
    value = doc
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def _compare(actual, op, expected) -> bool:
    if isinstance(actual, str) and isinstance(expected, str):
        actual, expected = actual.lower(), expected.lower()
    if op in ("Contains", "StartsWith", "EndsWith"):
        actual = (actual or "").lower() if isinstance(actual, str) else ""
        expected = expected.lower()
        return {"Contains": expected in actual, "StartsWith": actual.startswith(expected),
                "EndsWith": actual.endswith(expected)}[op]
    if isinstance(expected, Decimal) and actual is not None and not isinstance(actual, bool):
        try:
            actual = Decimal(str(actual))
        except ArithmeticError:
            return False
    try:
        return {"==": actual == expected, "!=": actual != expected, ">": actual > expected, "<": actual < expected,
                ">=": actual >= expected, "<=": actual <= expected}[op]
    except TypeError:
        return False


def matches(doc: dict, where: list[list[tuple]]) -> bool:
    if not where:
        return True
    return any(all(_compare(_field(doc, f), op, v) for f, op, v in conj) for conj in where)


# --- records stored raw (a test control) ---------------------------------------------

RAW_KINDS = {"contact": "ContactID", "item": "ItemID", "account": "AccountID", "tax_rate": "TaxType",
             "invoice": "InvoiceID"}


class Raw:
    """A record stored by the raw-records control exactly as a test gave it, whatever its
    shape (off Xero's schema on purpose): it goes out in lists as it is, after the books'
    own records, and the spec checker is shown the answer without it."""
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def raw_id(kind: str, value) -> str | None:
    """The id a raw record is found by (IDs=, GET by id): its id field, if that is text."""
    found = value.get(RAW_KINDS[kind]) if isinstance(value, dict) else None
    return (found if kind == "tax_rate" else found.lower()) if isinstance(found, str) else None


def raw_listed(store, tenant: str, kind: str, since: float | None, where=None, ids=None, other_filters=False,
               include_archived=True) -> list[Raw]:
    """The raw records a list read meets: those stored since `since` (the moment they were
    stored is their change time), with their id among `ids` and matching `where` (as far as
    they are objects); none when the read has filters they can't be checked against."""
    if other_filters:
        return []
    found = []
    for record_id, updated_ms, value in store.raw_records(tenant, kind):
        if since is not None and updated_ms < since * 1000:
            continue
        if ids and record_id not in ids:
            continue
        if where and not (isinstance(value, dict) and matches(value, where)):
            continue
        if not include_archived and isinstance(value, dict) and value.get("ContactStatus") == "ARCHIVED":
            continue
        found.append(Raw(value))
    return found


# --- contacts ------------------------------------------------------------------------

CONTACT_COLUMNS = {"name": ("name_lower", str), "emailaddress": ("email_lower", str),
                   "contactstatus": ("status", str), "iscustomer": ("is_customer", bool),
                   "issupplier": ("is_supplier", bool), "contactid": ("contact_id", str)}
CONTACT_ORDER = {"updateddateutc": "updated_ms", "name": "name_lower", "emailaddress": "email_lower"}


def contact_out(doc: dict) -> dict:
    out = dict(doc)
    out["UpdatedDateUTC"] = ms_date(doc["UpdatedDateUTC"])
    return out


def list_contacts(store, tenant: str, args, since: float | None) -> tuple[list[dict], dict | None]:
    where = parse_where(args.get("where"))
    sql, params = ["tenant_id=?"], [tenant]
    python_where = where
    if len(where) == 1:
        python_where = [[]]
        for field, op, value in where[0]:
            column = CONTACT_COLUMNS.get(field.lower())
            if column and op in ("==", "!=") and (isinstance(value, str) or isinstance(value, bool)):
                name, kind = column
                sql.append(f"{name} {'=' if op == '==' else '!='} ?")
                if kind is bool:
                    params.append(int(value))
                elif name == "status":
                    params.append(str(value).strip().upper())
                else:
                    params.append(str(value).strip().lower())
            else:
                python_where[0].append((field, op, value))
        if not python_where[0]:
            python_where = []
    if args.get("includeArchived", "").lower() != "true" and not any(
            f.lower() == "contactstatus" for conj in where for f, _, _ in conj):
        sql.append("status != 'ARCHIVED'")
    if since is not None:
        sql.append("updated_ms >= ?")
        params.append(int(since * 1000))
    ids = [i.strip().lower() for i in (args.get("IDs") or args.get("ids") or "").split(",") if i.strip()]
    if ids:
        sql.append(f"contact_id IN ({','.join('?' * len(ids))})")
        params.extend(ids)
    term = (args.get("searchTerm") or "").strip().lower()
    if term:
        sql.append("(name_lower LIKE ? OR email_lower LIKE ? OR lower(doc) LIKE ?)")
        like = "%" + term.replace("%", "").replace("_", "") + "%"
        params.extend([like, like, "%\"firstname\":\"" + like[1:]])
    order = _order(args.get("order"), CONTACT_ORDER, "name_lower")
    raw = raw_listed(store, tenant, "contact", since, where, ids, other_filters=bool(term),
                     include_archived=args.get("includeArchived", "").lower() == "true")
    return _paged(store, "contacts", sql, params, order, python_where, args, contact_out, raw)


def _order(text: str | None, columns: dict, default: str) -> str:
    if not text:
        return f"{default} ASC"
    parts = []
    for piece in text.split(","):
        words = piece.strip().split()
        if not words:
            continue
        column = columns.get(words[0].lower())
        if column is None:
            raise QueryError(f"Unable to order by {words[0]}")
        direction = "DESC" if len(words) > 1 and words[1].upper() == "DESC" else "ASC"
        parts.append(f"{column} {direction}")
    return ", ".join(parts) or f"{default} ASC"


def _page_args(args) -> tuple[int | None, int]:
    page = args.get("page")
    try:
        page_number = max(1, int(page)) if page not in (None, "") else None
        size = int(args.get("pageSize") or 100)
    except ValueError as exc:
        raise QueryError("page and pageSize must be whole numbers") from exc
    return page_number, max(1, min(size, 1000))


def _paged(store, table, sql, params, order, python_where, args, render, raw=()):
    """The rows the query selects, ordered and paged; `raw` (books.Raw records) come after them."""
    page, size = _page_args(args)
    where_sql = " AND ".join(sql)
    key = {"contacts": "contact_id", "invoices": "invoice_id", "payments": "payment_id"}[table]
    if python_where or raw:
        rows = store.query(f"SELECT doc FROM {table} WHERE {where_sql} ORDER BY {order}, {key}", params)  # noqa: S608
        docs = [d for d in (loads(r["doc"]) for r in rows) if matches(d, python_where)] + list(raw)
        total = len(docs)
        if page is not None:
            docs = docs[(page - 1) * size: page * size]
    else:
        if page is not None:
            total = store.one(f"SELECT count(*) AS n FROM {table} WHERE {where_sql}", params)["n"]  # noqa: S608
            rows = store.query(f"SELECT doc FROM {table} WHERE {where_sql} ORDER BY {order}, {key} "  # noqa: S608
                               "LIMIT ? OFFSET ?", [*params, size, (page - 1) * size])
        else:
            rows = store.query(f"SELECT doc FROM {table} WHERE {where_sql} ORDER BY {order}, {key}", params)  # noqa: S608
        docs = [loads(r["doc"]) for r in rows]
        if page is None:
            total = len(docs)
    pagination = None
    if page is not None:
        pagination = {"page": page, "pageSize": size, "pageCount": (total + size - 1) // size, "itemCount": total}
    return [d if isinstance(d, Raw) else render(d) for d in docs], pagination


def _name_taken(store, tenant, name, except_id=None) -> bool:
    row = store.one("SELECT contact_id FROM contacts WHERE tenant_id=? AND name_lower=? AND status != 'ARCHIVED' "
                    "AND contact_id != ?", (tenant, name.strip().lower(), except_id or ""))
    return row is not None


def _check_len(errors, data, field, limit):
    value = data.get(field)
    if value is not None and not isinstance(value, str):
        errors.append(f"{field} must be text.")
    elif value and len(value) > limit:
        errors.append(f"{field} must not be more than {limit} characters long.")


def find_contact_by_name(store, tenant, name) -> dict | None:
    row = store.one("SELECT doc FROM contacts WHERE tenant_id=? AND name_lower=? AND status != 'ARCHIVED'",
                    (tenant, name.strip().lower()))
    return loads(row["doc"]) if row else None


def save_contact(store, tenant: str, data: dict, mode: str, path_id: str | None = None):
    """mode: create (PUT), upsert (POST /Contacts), update (POST /Contacts/{id}).
    Returns (doc or None, [messages])."""
    if not isinstance(data, dict):
        return None, ["A contact must be an object."]
    errors: list[str] = []
    contact_id = path_id or data.get("ContactID")
    existing = None
    if contact_id:
        existing = store.get_contact(tenant, contact_id)
        if existing is None:
            return None, [f"The contact with ContactID {contact_id} could not be found." if mode != "create"
                          else "A new contact cannot have a ContactID."]
        if mode == "create":
            return None, ["A new contact cannot have a ContactID."]
    elif mode == "upsert" and data.get("ContactNumber"):
        row = store.one("SELECT doc FROM contacts WHERE tenant_id=? AND doc LIKE ?",
                        (tenant, '%"ContactNumber":' + dumps(data["ContactNumber"]) + "%"))
        existing = loads(row["doc"]) if row else None
    for field, limit in (("Name", 255), ("FirstName", 255), ("LastName", 255), ("EmailAddress", 255),
                         ("ContactNumber", 50), ("AccountNumber", 50), ("CompanyNumber", 50), ("TaxNumber", 50),
                         ("Website", 2048), ("BankAccountDetails", 255)):
        _check_len(errors, data, field, limit)
    name = data.get("Name") if "Name" in data else (existing or {}).get("Name")
    name = name.strip() if isinstance(name, str) else name
    if not name:
        errors.append("The contact name must be specified." if existing is None else "The contact name cannot be empty.")
    status = data.get("ContactStatus") or (existing or {}).get("ContactStatus") or "ACTIVE"
    if status not in ("ACTIVE", "ARCHIVED"):
        errors.append(f"ContactStatus {status} is not valid; use ACTIVE or ARCHIVED.")
    email = data.get("EmailAddress")
    if isinstance(email, str) and email.strip() and not EMAIL_RE.match(email.strip()):
        errors.append("Email address must be valid.")
    for address in data.get("Addresses") or []:
        if not isinstance(address, dict) or address.get("AddressType") not in ("POBOX", "STREET"):
            errors.append("AddressType must be POBOX or STREET.")
            continue
        for field, limit in (("AddressLine1", 500), ("AddressLine2", 500), ("AddressLine3", 500),
                             ("AddressLine4", 500), ("City", 255), ("Region", 255), ("PostalCode", 50),
                             ("Country", 50), ("AttentionTo", 255)):
            _check_len(errors, address, field, limit)
    for phone in data.get("Phones") or []:
        if not isinstance(phone, dict) or phone.get("PhoneType") not in ("DEFAULT", "DDI", "MOBILE", "FAX", "OFFICE"):
            errors.append("PhoneType must be DEFAULT, DDI, MOBILE, FAX or OFFICE.")
            continue
        for field, limit in (("PhoneNumber", 50), ("PhoneAreaCode", 10), ("PhoneCountryCode", 20)):
            _check_len(errors, phone, field, limit)
    persons = data.get("ContactPersons")
    if persons is not None and (not isinstance(persons, list) or not all(isinstance(p, dict) for p in persons)):
        errors.append("ContactPersons must be a list of people.")
    if name and isinstance(name, str) and status != "ARCHIVED" and \
            _name_taken(store, tenant, name, existing["ContactID"] if existing else None):
        errors.append(f"The contact name {name} is already assigned to another contact. "
                      "The contact name must be unique across all active contacts.")
    if errors:
        return None, errors
    now = store.clock.now_ms()
    if existing is None:
        doc = {"ContactID": new_id(), "ContactStatus": "ACTIVE", "Name": name, "EmailAddress": "",
               "BankAccountDetails": "", "TaxNumber": "", "Addresses": [], "Phones": [], "IsSupplier": False,
               "IsCustomer": False, "ContactPersons": [], "ContactGroups": [], "HasAttachments": False,
               "HasValidationErrors": False}
    else:
        doc = dict(existing)
    simple = ("Name", "FirstName", "LastName", "EmailAddress", "ContactNumber", "AccountNumber", "CompanyNumber",
              "TaxNumber", "Website", "BankAccountDetails", "ContactStatus", "DefaultCurrency",
              "AccountsReceivableTaxType", "AccountsPayableTaxType", "SalesDefaultAccountCode",
              "PurchasesDefaultAccountCode")
    for field in simple:
        if field in data and data[field] is not None:
            doc[field] = data[field].strip() if isinstance(data[field], str) else data[field]
    doc["Name"] = name
    if "Addresses" in data and data["Addresses"] is not None:
        by_type = {a["AddressType"]: a for a in doc.get("Addresses", [])}
        for address in data["Addresses"]:
            by_type[address["AddressType"]] = {k: v for k, v in address.items() if v is not None}
        doc["Addresses"] = [by_type[t] for t in ("POBOX", "STREET") if t in by_type]
    if "Phones" in data and data["Phones"] is not None:
        by_type = {p["PhoneType"]: p for p in doc.get("Phones", [])}
        for phone in data["Phones"]:
            by_type[phone["PhoneType"]] = {k: v for k, v in phone.items() if v is not None}
        doc["Phones"] = list(by_type.values())
    if persons is not None:
        doc["ContactPersons"] = [{k: v for k, v in p.items() if k in ("FirstName", "LastName", "EmailAddress",
                                                                       "IncludeInEmails")} for p in persons]
    if existing is not None and {k: v for k, v in doc.items() if k != "UpdatedDateUTC"} == \
            {k: v for k, v in existing.items() if k != "UpdatedDateUTC"}:
        return existing, []  # nothing changed
    doc["UpdatedDateUTC"] = now
    store.put_contact(tenant, doc)
    emit(store, tenant, "CONTACT", "UPDATE" if existing else "CREATE", doc["ContactID"])
    return doc, []


def mark_contact(store, tenant, contact_id, invoice_type):
    doc = store.get_contact(tenant, contact_id)
    if doc is None:
        return
    field = "IsCustomer" if invoice_type == "ACCREC" else "IsSupplier"
    if not doc.get(field):
        doc[field] = True
        doc["UpdatedDateUTC"] = store.clock.now_ms()
        store.put_contact(tenant, doc)
        emit(store, tenant, "CONTACT", "UPDATE", contact_id)


# --- invoices ------------------------------------------------------------------------

INVOICE_ORDER = {"updateddateutc": "updated_ms", "invoicenumber": "number", "date": "seq", "status": "status",
                 "reference": "reference"}


def invoice_out(doc: dict, lines: bool = True) -> dict:
    out = dict(doc)
    for field in ("Date", "DueDate", "FullyPaidOnDate"):
        if doc.get(field):
            out[field] = ms_date(ms_from_day(doc[field]))
            if field != "FullyPaidOnDate":
                out[field + "String"] = doc[field] + "T00:00:00"
        else:
            out.pop(field, None)
    out["UpdatedDateUTC"] = ms_date(doc["UpdatedDateUTC"])
    out["Payments"] = [dict(p, Date=ms_date(ms_from_day(p["Date"]))) for p in doc.get("Payments", [])]
    if not lines:
        out.pop("LineItems", None)
    return out


def list_invoices(store, tenant, args, since):
    where = parse_where(args.get("where"))
    sql, params = ["tenant_id=?"], [tenant]
    ids, other_filters = None, False
    for arg, column in (("IDs", "invoice_id"), ("InvoiceNumbers", "number"), ("ContactIDs", "contact_id"),
                        ("Statuses", "status")):
        values = [v.strip() for v in (args.get(arg) or "").split(",") if v.strip()]
        if values:
            if column in ("invoice_id", "contact_id"):
                values = [v.lower() for v in values]
            sql.append(f"{column} IN ({','.join('?' * len(values))})")
            params.extend(values)
            if column == "invoice_id":
                ids = values
            else:
                other_filters = True
    if since is not None:
        sql.append("updated_ms >= ?")
        params.append(int(since * 1000))
    term = (args.get("searchTerm") or "").strip().lower()
    if term:
        sql.append("(lower(number) LIKE ? OR lower(reference) LIKE ?)")
        params.extend([f"%{term}%", f"%{term}%"])
    order = _order(args.get("order"), INVOICE_ORDER, "seq")
    lines = bool(args.get("page") or args.get("IDs") or args.get("InvoiceNumbers"))
    raw = raw_listed(store, tenant, "invoice", since, where, ids, other_filters=other_filters or bool(term))
    return _paged(store, "invoices", sql, params, order, where, args, lambda d: invoice_out(d, lines), raw)


def _tax_rates(store, tenant) -> dict:
    return {r["tax_type"]: loads(r["doc"]) for r in store.query("SELECT tax_type, doc FROM taxrates WHERE tenant_id=?",
                                                                (tenant,))}


def _accounts(store, tenant) -> dict:
    return {r["code"]: loads(r["doc"]) for r in store.query("SELECT code, doc FROM accounts WHERE tenant_id=?",
                                                            (tenant,))}


def _items(store, tenant) -> dict:
    return {r["code"].lower(): loads(r["doc"]) for r in store.query("SELECT code, doc FROM items WHERE tenant_id=?",
                                                                    (tenant,))}


def save_item(store, tenant: str, data: dict, path_id: str | None = None):
    """An item created (no path_id) or changed, with Xero's rules: a code (at most 30
    characters, unique in the organisation), a name (at most 50), prices that are
    numbers. Returns (doc or None, [messages])."""
    errors: list[str] = []
    existing = None
    if path_id:
        row = store.one("SELECT doc FROM items WHERE tenant_id=? AND item_id=?", (tenant, str(path_id).lower()))
        if row is None:
            return None, [f"The item with ItemID {path_id} could not be found."]
        existing = loads(row["doc"])
    for field, limit in (("Code", 30), ("Name", 50), ("Description", 4000)):
        _check_len(errors, data, field, limit)
    code = (data.get("Code") if "Code" in data else (existing or {}).get("Code")) or ""
    code = code.strip() if isinstance(code, str) else ""
    if not code:
        errors.append("Item code must be specified.")
    elif store.one("SELECT item_id FROM items WHERE tenant_id=? AND lower(code)=? AND item_id != ?",
                   (tenant, code.lower(), (existing or {}).get("ItemID", ""))):
        errors.append(f"Item code '{code}' already exists.")
    prices = {}
    for part in ("SalesDetails", "PurchaseDetails"):
        value = (data.get(part) or {}).get("UnitPrice") if isinstance(data.get(part), dict) else None
        if value in (None, ""):
            continue
        try:
            price = to_decimal(value)
        except ValueError:
            price = None
        if price is None or not price.is_finite() or price < 0:
            errors.append(f"{part}.UnitPrice must be a number of at least 0.")
        else:
            prices[part] = price
    if errors:
        return None, errors
    doc = dict(existing) if existing else {
        "ItemID": new_id(), "Name": "", "Description": "", "IsSold": False, "IsPurchased": False,
        "IsTrackedAsInventory": False, "SalesDetails": {}, "PurchaseDetails": {}}
    doc["Code"] = code
    for field in ("Name", "Description"):
        if isinstance(data.get(field), str):
            doc[field] = data[field].strip()
    for part, flag, account, tax in (("SalesDetails", "IsSold", "200", "OUTPUT"),
                                     ("PurchaseDetails", "IsPurchased", "300", "INPUT")):
        if part in prices:
            details = dict(doc.get(part) or {})
            details.setdefault("AccountCode", account)
            details.setdefault("TaxType", tax)
            details["UnitPrice"] = prices[part]
            doc[part], doc[flag] = details, True
    if existing is not None and {k: v for k, v in doc.items() if k != "UpdatedDateUTC"} == \
            {k: v for k, v in existing.items() if k != "UpdatedDateUTC"}:
        return existing, []  # nothing changed
    doc["UpdatedDateUTC"] = store.clock.now_ms()
    store.run("INSERT OR REPLACE INTO items (item_id, tenant_id, code, updated_ms, doc) VALUES (?,?,?,?,?)",
              (doc["ItemID"], tenant, code, doc["UpdatedDateUTC"], dumps(doc)))
    return doc, []


def compute_lines(store, tenant, kind, amount_types, raw_lines, status, errors):
    rates, accounts, items = _tax_rates(store, tenant), _accounts(store, tenant), _items(store, tenant)
    lines, sub_total, total_tax, total_discount = [], Decimal(0), Decimal(0), Decimal(0)
    for n, raw in enumerate(raw_lines, 1):
        if not isinstance(raw, dict):
            errors.append(f"Line item {n} must be an object.")
            continue
        item = None
        if raw.get("ItemCode"):
            item = items.get(str(raw["ItemCode"]).lower())
            if item is None:
                errors.append(f"Item code '{raw['ItemCode']}' is not valid")
                continue
        details = (item or {}).get("SalesDetails" if kind == "ACCREC" else "PurchaseDetails") or {}
        try:
            quantity = to_decimal(raw.get("Quantity"), Decimal(1))
            unit = to_decimal(raw.get("UnitAmount"), to_decimal(details.get("UnitPrice"), Decimal(0)))
            discount = to_decimal(raw.get("DiscountRate"), Decimal(0))
            given = to_decimal(raw.get("LineAmount"))
        except ValueError as exc:
            errors.append(f"Line item {n}: {exc}")
            continue
        if not Decimal(0) <= discount <= Decimal(100):
            errors.append("Discount rate must be between 0 and 100.")
        description = raw.get("Description") or (item or {}).get(
            "Description" if kind == "ACCREC" else "PurchaseDescription") or (item or {}).get("Description")
        if not description:
            errors.append("Description must be specified.")
        account_code = raw.get("AccountCode") or details.get("AccountCode")
        account = accounts.get(str(account_code)) if account_code else None
        if account_code and account is None:
            errors.append(f"Account code '{account_code}' is not a valid code for this document.")
        elif account_code is None and status == "AUTHORISED":
            errors.append("Account code must be specified.")
        tax_type = raw.get("TaxType") or details.get("TaxType") or (account or {}).get("TaxType")
        if amount_types == "NoTax":
            tax_type = tax_type if tax_type in ("BASEXCLUDED", "EXEMPTOUTPUT", "EXEMPTEXPENSES") else "BASEXCLUDED"
        rate_doc = rates.get(tax_type) if tax_type else None
        if tax_type and rate_doc is None:
            errors.append(f"The TaxType code '{tax_type}' does not exist or cannot be used for this type of transaction.")
            continue
        rate = Decimal(str(rate_doc["EffectiveRate"])) if rate_doc else Decimal(0)
        line_amount = money(quantity * unit * (Decimal(1) - discount / Decimal(100)))
        if given is not None and money(given) != line_amount:
            errors.append(f"The line total {money(given)} does not match the expected line total {line_amount}")
        if amount_types == "Exclusive":
            tax = money(line_amount * rate / Decimal(100))
        elif amount_types == "Inclusive":
            tax = money(line_amount * rate / (Decimal(100) + rate))
        else:
            tax = Decimal("0.00")
        line = {"LineItemID": str(raw.get("LineItemID") or new_id()), "Description": description or "",
                "Quantity": quantity, "UnitAmount": unit, "TaxType": tax_type or "", "TaxAmount": tax,
                "LineAmount": line_amount, "Tracking": []}
        if account_code:
            line["AccountCode"] = str(account_code)
            line["AccountID"] = account["AccountID"] if account else None
            if line["AccountID"] is None:
                line.pop("AccountID")
        if item:
            line["ItemCode"] = item["Code"]
            line["Item"] = {"ItemID": item["ItemID"], "Code": item["Code"], "Name": item.get("Name", "")}
        if discount:
            line["DiscountRate"] = discount
            total_discount += money(quantity * unit) - line_amount
        lines.append(line)
        sub_total += line_amount - (tax if amount_types == "Inclusive" else 0)
        total_tax += tax
    return lines, money(sub_total), money(total_tax), money(total_discount)


def _resolve_contact(store, tenant, ref, errors):
    if not isinstance(ref, dict) or not (ref.get("ContactID") or ref.get("Name") or ref.get("ContactNumber")):
        errors.append("A Contact must be specified for this type of transaction")
        return None
    if ref.get("ContactID"):
        doc = store.get_contact(tenant, ref["ContactID"])
        if doc is None:
            errors.append("The Contact specified could not be found.")
        return doc
    if ref.get("Name"):
        doc = find_contact_by_name(store, tenant, ref["Name"])
        if doc is not None:
            return doc
        doc, problems = save_contact(store, tenant, {k: v for k, v in ref.items() if k != "ContactID"}, "create")
        errors.extend(problems)
        return doc
    errors.append("The Contact specified could not be found.")
    return None


def save_invoice(store, tenant: str, data: dict, mode: str, path_id: str | None = None):
    """mode: create (PUT), upsert (POST /Invoices), update (POST /Invoices/{id})."""
    if not isinstance(data, dict):
        return None, ["An invoice must be an object."]
    errors: list[str] = []
    invoice_id = path_id or data.get("InvoiceID")
    existing = None
    if invoice_id:
        existing = store.get_invoice(tenant, invoice_id)
        if existing is None or mode == "create":
            return None, ["A new invoice cannot have an InvoiceID." if mode == "create" and existing
                          else f"Invoice with InvoiceID {invoice_id} could not be found."]
    elif mode == "upsert" and data.get("InvoiceNumber") and data.get("Type", "ACCREC") == "ACCREC":
        row = store.one("SELECT doc FROM invoices WHERE tenant_id=? AND type='ACCREC' AND number=?",
                        (tenant, data["InvoiceNumber"]))
        existing = loads(row["doc"]) if row else None
    old_status = existing["Status"] if existing else None
    status = data.get("Status") or old_status or "DRAFT"
    if status not in TRANSITIONS:
        return None, [f"Status {status} is not valid."]
    if existing:
        changes = {k for k, v in data.items() if k not in ("InvoiceID", "Status") and v is not None}
        if status == old_status and not changes:
            return existing, []
        if old_status in ("PAID", "VOIDED", "DELETED") or existing.get("Payments"):
            return None, [NOT_MODIFIABLE]
    if status not in TRANSITIONS[old_status] and status != old_status:
        return None, [NOT_MODIFIABLE if existing else f"A new invoice cannot be created with status {status}."]
    kind = data.get("Type") or (existing or {}).get("Type")
    if kind not in INVOICE_TYPES:
        return None, ["Invoice Type must be ACCREC or ACCPAY." if kind is None
                      else f"Invoice Type {kind} is not supported by the sandbox."]
    if existing and kind != existing["Type"]:
        return None, ["The Type of an invoice cannot be changed."]
    raw_types = data.get("LineAmountTypes") or (existing or {}).get("LineAmountTypes") or "Exclusive"
    amount_types = LINE_AMOUNT_TYPES.get(str(raw_types).lower())
    if amount_types is None:
        return None, [f"LineAmountTypes {raw_types} is not valid; use Exclusive, Inclusive or NoTax."]
    try:
        day = parse_day(data.get("Date")) or (existing or {}).get("Date") or day_from_ms(store.clock.now_ms())
        due = parse_day(data.get("DueDate")) if data.get("DueDate") else (existing or {}).get("DueDate")
    except ValueError as exc:
        return None, [str(exc)]
    if status == "AUTHORISED" and not due:
        errors.append("Due Date is required.")
    number = data.get("InvoiceNumber") if data.get("InvoiceNumber") is not None else (existing or {}).get("InvoiceNumber")
    if number is not None and not isinstance(number, str):
        errors.append("InvoiceNumber must be text.")
    elif number and len(number) > 255:
        errors.append("InvoiceNumber must not be more than 255 characters long.")
    if "Contact" in data or existing is None:
        contact = _resolve_contact(store, tenant, data.get("Contact"), errors)
    else:
        contact = store.get_contact(tenant, existing["Contact"]["ContactID"])
    raw_lines = data.get("LineItems")
    if raw_lines is None:
        raw_lines = (existing or {}).get("LineItems") or []
    if not isinstance(raw_lines, list):
        errors.append("LineItems must be a list.")
        raw_lines = []
    if status == "AUTHORISED" and not raw_lines:
        errors.append("At least one line item is required to approve an invoice.")
    lines, sub_total, total_tax, total_discount = compute_lines(store, tenant, kind, amount_types, raw_lines,
                                                                status, errors)
    if kind == "ACCREC" and number and store.one(
            "SELECT 1 FROM invoices WHERE tenant_id=? AND type='ACCREC' AND number=? AND invoice_id != ?",
            (tenant, number, existing["InvoiceID"] if existing else "")):
        errors.append("Invoice # must be unique.")
    if errors:
        return None, errors
    now = store.clock.now_ms()
    seq = None
    if existing is None:
        seq_row = store.one("SELECT coalesce(max(seq), 0) + 1 AS n FROM invoices WHERE tenant_id=?", (tenant,))
        seq = seq_row["n"]
        if kind == "ACCREC" and not number:
            next_no = int(store.meta(f"invno:{tenant}") or 1)
            while store.one("SELECT 1 FROM invoices WHERE tenant_id=? AND type='ACCREC' AND number=?",
                            (tenant, f"INV-{next_no:04d}")):
                next_no += 1
            number = f"INV-{next_no:04d}"
            store.set_meta(f"invno:{tenant}", str(next_no + 1))
        doc = {"Type": kind, "InvoiceID": new_id(), "Payments": [], "CreditNotes": [], "Prepayments": [],
               "Overpayments": [], "AmountPaid": Decimal("0.00"), "AmountCredited": Decimal("0.00"),
               "CurrencyCode": "AUD", "CurrencyRate": Decimal("1"), "HasAttachments": False, "HasErrors": False,
               "SentToContact": False, "IsDiscounted": False}
    else:
        seq = store.one("SELECT seq FROM invoices WHERE invoice_id=?", (existing["InvoiceID"],))["seq"]
        doc = dict(existing)
    total = sub_total + total_tax
    doc.update({"InvoiceNumber": number or "", "Reference": data.get("Reference", doc.get("Reference", "")) or "",
                "Contact": {"ContactID": contact["ContactID"], "Name": contact["Name"],
                            "ContactStatus": contact.get("ContactStatus", "ACTIVE")},
                "Date": day, "DueDate": due, "Status": status, "LineAmountTypes": amount_types,
                "LineItems": lines, "SubTotal": sub_total, "TotalTax": total_tax, "Total": total,
                "TotalDiscount": total_discount, "IsDiscounted": total_discount > 0,
                "AmountDue": total - Decimal(str(doc["AmountPaid"])) if status not in ("VOIDED", "DELETED")
                else Decimal("0.00"), "UpdatedDateUTC": now})
    for field in ("Url", "BrandingThemeID", "SentToContact", "ExpectedPaymentDate", "CurrencyCode"):
        if data.get(field) is not None:
            doc[field] = data[field]
    if not doc.get("DueDate"):
        doc.pop("DueDate", None)
    store.put_invoice(tenant, doc, seq)
    if status not in ("DELETED", "VOIDED"):
        mark_contact(store, tenant, contact["ContactID"], kind)
    emit(store, tenant, "INVOICE", "UPDATE" if existing else "CREATE", doc["InvoiceID"])
    return doc, []


# --- payments ------------------------------------------------------------------------

def payment_out(doc: dict) -> dict:
    out = dict(doc)
    out["Date"] = ms_date(ms_from_day(doc["Date"]))
    out["UpdatedDateUTC"] = ms_date(doc["UpdatedDateUTC"])
    return out


def create_payment(store, tenant: str, data: dict):
    if not isinstance(data, dict):
        return None, ["A payment must be an object."]
    ref = data.get("Invoice") or {}
    invoice = None
    if isinstance(ref, dict) and ref.get("InvoiceID"):
        invoice = store.get_invoice(tenant, ref["InvoiceID"])
    elif isinstance(ref, dict) and ref.get("InvoiceNumber"):
        row = store.one("SELECT doc FROM invoices WHERE tenant_id=? AND number=? ORDER BY type DESC",
                        (tenant, ref["InvoiceNumber"]))
        invoice = loads(row["doc"]) if row else None
    if invoice is None:
        return None, ["Invoice could not be found" if ref else "An Invoice must be specified for a payment."]
    account_ref = data.get("Account") or {}
    account = None
    if isinstance(account_ref, dict) and (account_ref.get("Code") or account_ref.get("AccountID")):
        accounts = _accounts(store, tenant).values()
        account = next((a for a in accounts if a["Code"] == account_ref.get("Code")
                        or a["AccountID"] == str(account_ref.get("AccountID", "")).lower()), None)
    errors = []
    if account is None:
        errors.append("Account could not be found")
    elif account["Type"] != "BANK" and not account.get("EnablePaymentsToAccount"):
        errors.append("Payments can only be made to bank accounts or accounts with payments enabled.")
    if invoice["Status"] != "AUTHORISED":
        errors.append("Payment can only be made against an AUTHORISED invoice.")
    try:
        amount = to_decimal(data.get("Amount"))
        day = parse_day(data.get("Date")) or day_from_ms(store.clock.now_ms())
    except ValueError as exc:
        return None, [str(exc)]
    if amount is None or amount <= 0:
        errors.append("Payment amount must be greater than zero.")
    elif money(amount) != amount:
        errors.append("Payment amount must have at most 2 decimal places.")
    elif invoice["Status"] == "AUTHORISED" and amount > Decimal(str(invoice["AmountDue"])):
        errors.append("Payment amount exceeds the amount outstanding on this document.")
    if errors:
        return None, errors
    now = store.clock.now_ms()
    payment_id = new_id()
    doc = {"PaymentID": payment_id, "Date": day, "Amount": money(amount), "BankAmount": money(amount),
           "Reference": data.get("Reference") or "", "CurrencyRate": Decimal("1"), "IsReconciled": False,
           "Status": "AUTHORISED", "HasAccount": True, "HasValidationErrors": False,
           "PaymentType": "ACCRECPAYMENT" if invoice["Type"] == "ACCREC" else "ACCPAYPAYMENT",
           "Account": {"AccountID": account["AccountID"], "Code": account["Code"]},
           "Invoice": {"InvoiceID": invoice["InvoiceID"], "InvoiceNumber": invoice.get("InvoiceNumber", ""),
                       "Type": invoice["Type"], "Contact": invoice["Contact"]},
           "UpdatedDateUTC": now}
    store.put_payment(tenant, doc)
    paid = money(Decimal(str(invoice["AmountPaid"])) + amount)
    invoice["AmountPaid"] = paid
    invoice["AmountDue"] = money(Decimal(str(invoice["Total"])) - paid)
    invoice["Payments"] = [*invoice.get("Payments", []),
                           {"PaymentID": payment_id, "Date": day, "Amount": money(amount),
                            "Reference": doc["Reference"], "CurrencyRate": Decimal("1"), "HasAccount": True,
                            "HasValidationErrors": False}]
    if invoice["AmountDue"] == 0:
        invoice["Status"] = "PAID"
        invoice["FullyPaidOnDate"] = day
    invoice["UpdatedDateUTC"] = now
    seq = store.one("SELECT seq FROM invoices WHERE invoice_id=?", (invoice["InvoiceID"],))["seq"]
    store.put_invoice(tenant, invoice, seq)
    emit(store, tenant, "INVOICE", "UPDATE", invoice["InvoiceID"])
    return doc, []


def delete_payment(store, tenant: str, payment_id: str):
    """A payment removed (Xero: its Status set to DELETED): the invoice owes that amount
    again and is AUTHORISED again if it was PAID."""
    row = store.one("SELECT doc FROM payments WHERE tenant_id=? AND payment_id=?", (tenant, str(payment_id).lower()))
    payment = loads(row["doc"]) if row else None
    if payment is None or payment.get("Status") == "DELETED":
        return None, ["The payment could not be found."]
    invoice = store.get_invoice(tenant, payment["Invoice"]["InvoiceID"])
    if invoice is None or invoice["Status"] not in ("AUTHORISED", "PAID"):
        return None, ["The payment's invoice can no longer be changed."]
    now = store.clock.now_ms()
    payment["Status"], payment["UpdatedDateUTC"] = "DELETED", now
    store.put_payment(tenant, payment)
    amount = Decimal(str(payment["Amount"]))
    invoice["AmountPaid"] = money(Decimal(str(invoice["AmountPaid"])) - amount)
    invoice["AmountDue"] = money(Decimal(str(invoice["Total"])) - Decimal(str(invoice["AmountPaid"])))
    invoice["Payments"] = [p for p in invoice.get("Payments", []) if p["PaymentID"] != payment["PaymentID"]]
    if invoice["Status"] == "PAID":
        invoice["Status"] = "AUTHORISED"
        invoice.pop("FullyPaidOnDate", None)
    invoice["UpdatedDateUTC"] = now
    seq = store.one("SELECT seq FROM invoices WHERE invoice_id=?", (invoice["InvoiceID"],))["seq"]
    store.put_invoice(tenant, invoice, seq)
    emit(store, tenant, "INVOICE", "UPDATE", invoice["InvoiceID"])
    return payment, []


def list_payments(store, tenant, args, since):
    sql, params = ["tenant_id=?"], [tenant]
    if since is not None:
        sql.append("updated_ms >= ?")
        params.append(int(since * 1000))
    return _paged(store, "payments", sql, params, "updated_ms ASC", parse_where(args.get("where")), args, payment_out)


# --- seed ----------------------------------------------------------------------------

def seed_invoices(store, tenant, specs):
    today = store.clock.now_ms() // 86400_000 * 86400_000
    hook = getattr(store, "on_event", None)
    store.on_event = None
    try:
        for spec in specs:
            data = {k: v for k, v in spec.items() if k not in ("Date_days", "Due_days", "payment")}
            data["Date"] = day_from_ms(today + spec["Date_days"] * 86400_000)
            data["DueDate"] = day_from_ms(today + spec["Due_days"] * 86400_000)
            doc, errors = save_invoice(store, tenant, data, "create")
            assert not errors, errors
            if spec.get("payment"):
                amount = doc["AmountDue"] if spec["payment"] == "full" else Decimal(spec["payment"])
                _, errors = create_payment(store, tenant, {
                    "Invoice": {"InvoiceID": doc["InvoiceID"]}, "Account": {"Code": "090"},
                    "Date": day_from_ms(today - 3 * 86400_000), "Amount": amount, "Reference": "EFT"})
                assert not errors, errors
    finally:
        store.on_event = hook


def bulk_contacts(store, tenant, count, customers=0, suppliers=0, both=0) -> int:
    start = store.one("SELECT count(*) AS n FROM contacts WHERE tenant_id=?", (tenant,))["n"] + 1
    docs = seed.bulk_contacts(tenant, count, customers, suppliers, both, start, store.clock.now_ms())
    store.put_contacts_bulk(tenant, docs)
    return len(docs)
