"""Xero's list reads over the books: Contacts, Invoices, CreditNotes, Payments, Items,
Accounts and TaxRates with their filters (where, IDs, searchTerm, includeArchived, If-Modified-Since),
order and paging. What the store's columns can answer is asked in SQL; the rest of a
`where` is checked on each record in Xero's shape. Records stored raw (raw.py) come after
the books' own.

- GET /Invoices without `page` (and without IDs/InvoiceNumbers) leaves LineItems out, as Xero does.
- TaxRates ignore If-Modified-Since (Xero's have no change time)."""
from __future__ import annotations

from ...core.util import ms_date
from ...ledger import contacts
from . import records
from .query import QueryError, matches, order_by, page_args, parse_where
from .raw import Raw, raw_listed

__all__ = ["QueryError", "list_contacts", "list_credit_notes", "list_invoices", "list_payments", "simple_list"]

CONTACT_COLUMNS = {"name": ("name_lower", str), "emailaddress": ("email_lower", str),
                   "contactstatus": ("status", str), "iscustomer": ("is_customer", bool),
                   "issupplier": ("is_supplier", bool), "contactid": ("contact_id", str)}
CONTACT_ORDER = {"updateddateutc": "updated_ms", "name": "name_lower", "emailaddress": "email_lower"}
INVOICE_ORDER = {"updateddateutc": "updated_ms", "invoicenumber": "number", "date": "seq", "status": "status",
                 "reference": "reference"}
KEYS = {"contacts": "contact_id", "invoices": "invoice_id", "payments": "payment_id"}


def _paged(store, table, sql, params, order, python_where, args, convert, render, raw=()):
    """The records the query selects, in Xero's shape (`convert`), ordered and paged, each
    finished by `render`; `raw` records come after them. Returns (docs, pagination)."""
    page, size = page_args(args)
    where_sql = " AND ".join(sql)
    key = KEYS[table]
    if python_where or raw:
        rows = store.query(f"SELECT doc FROM {table} WHERE {where_sql} ORDER BY {order}, {key}", params)  # noqa: S608
        docs = [d for d in (convert(store.doc(r)) for r in rows) if matches(d, python_where)] + list(raw)
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
        docs = [convert(store.doc(r)) for r in rows]
        if page is None:
            total = len(docs)
    pagination = None
    if page is not None:
        pagination = {"page": page, "pageSize": size, "pageCount": (total + size - 1) // size, "itemCount": total}
    return [d if isinstance(d, Raw) else render(d) for d in docs], pagination


def list_contacts(store, tenant: str, args, since: float | None):
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
                params.append(int(value) if kind is bool else str(value).strip().lower())
            else:
                python_where[0].append((field, op, value))
        if not python_where[0]:
            python_where = []
    if args.get("includeArchived", "").lower() != "true" and not any(
            f.lower() == "contactstatus" for conj in where for f, _, _ in conj):
        sql.append("status != 'archived'")
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
        params.extend([like, like, "%\"first_name\":\"" + like[1:]])
    order = order_by(args.get("order"), CONTACT_ORDER, "name_lower")
    raw = raw_listed(store, tenant, "contact", since, where, ids, other_filters=bool(term),
                     include_archived=args.get("includeArchived", "").lower() == "true")
    return _paged(store, "contacts", sql, params, order, python_where, args, records.contact, records.contact_out,
                  raw)


def list_invoices(store, tenant, args, since):
    where = parse_where(args.get("where"))
    sql, params = ["tenant_id=?", "type IN ('sale', 'purchase')"], [tenant]
    ids, other_filters = None, False
    for arg, column in (("IDs", "invoice_id"), ("InvoiceNumbers", "number"), ("ContactIDs", "contact_id"),
                        ("Statuses", "status")):
        values = [v.strip() for v in (args.get(arg) or "").split(",") if v.strip()]
        if values:
            if column in ("invoice_id", "contact_id", "status"):
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
    order = order_by(args.get("order"), INVOICE_ORDER, "seq")
    lines = bool(args.get("page") or args.get("IDs") or args.get("InvoiceNumbers"))
    raw = raw_listed(store, tenant, "invoice", since, where, ids, other_filters=other_filters or bool(term))
    contact = contacts.reader(store, tenant)
    return _paged(store, "invoices", sql, params, order, where, args,
                  lambda r: records.invoice(r, contact(r["contact_id"])),
                  lambda d: records.invoice_out(d, lines), raw)


def list_credit_notes(store, tenant, args, since):
    """CreditNotes: where, order and paging as for invoices (If-Modified-Since too)."""
    sql, params = ["tenant_id=?", "type IN ('sale_credit', 'purchase_credit')"], [tenant]
    if since is not None:
        sql.append("updated_ms >= ?")
        params.append(int(since * 1000))
    order = order_by(args.get("order"), {**INVOICE_ORDER, "creditnotenumber": "number"}, "seq")
    contact = contacts.reader(store, tenant)
    return _paged(store, "invoices", sql, params, order, parse_where(args.get("where")), args,
                  lambda r: records.credit_note(r, contact(r["contact_id"])), records.invoice_out)


def list_payments(store, tenant, args, since):
    sql, params = ["tenant_id=?"], [tenant]
    if since is not None:
        sql.append("updated_ms >= ?")
        params.append(int(since * 1000))
    contact = contacts.reader(store, tenant)

    def convert(record):
        document = store.get_invoice(tenant, record["document_id"])
        return records.payment(record, document, contact(document["contact_id"]) if document else None)
    return _paged(store, "payments", sql, params, "updated_ms ASC", parse_where(args.get("where")), args, convert,
                  records.payment_out)


SIMPLE = {"items": (records.item, "code", "item"), "accounts": (records.account, "code", "account"),
          "taxrates": (records.tax_rate, "rowid", "tax_rate")}


def simple_list(store, tenant: str, table: str, where_text: str | None, since: float | None) -> list:
    """Items, Accounts or TaxRates in Xero's shape, filtered; raw records after them."""
    convert, order, raw_kind = SIMPLE[table]
    if table == "taxrates":
        since = None
    rows = store.query(f"SELECT doc FROM {table} WHERE tenant_id=? ORDER BY {order}", (tenant,))  # noqa: S608
    docs = [convert(store.doc(r)) for r in rows]
    if since is not None:
        docs = [d for d in docs if d.get("UpdatedDateUTC", 0) >= since * 1000]
    where = parse_where(where_text)
    docs = [d for d in docs if matches(d, where)]
    for d in docs:
        if "UpdatedDateUTC" in d:
            d["UpdatedDateUTC"] = ms_date(d["UpdatedDateUTC"])
    return docs + raw_listed(store, tenant, raw_kind, since, where)
