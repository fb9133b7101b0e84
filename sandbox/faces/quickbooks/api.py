"""QuickBooks Online's Accounting API v3 over the books: /v3/company/{realmId}/...

- GET companyinfo/{realmId}; GET {entity}/{id} for customer, vendor, item, account,
  taxcode, taxrate, invoice, bill; GET or POST query (the SQL as `query=` or as an
  application/text body; query.py); POST customer, vendor, invoice and bill (create, or
  update with Id and the current SyncToken; lines are replaced whole; `sparse` or not,
  the books keep what the body doesn't carry); ?operation=void|delete on invoice and
  bill; GET cdc (cdc.py). Not yet: batch.
- `requestid` (at most 50 characters) makes a write happen once: the same requestid
  answers the first answer again. `minorversion` is accepted at any value (75 is what
  Intuit serves since 2025-08-01).
- Errors are Intuit's Fault bodies, 400 for a business or validation fault (a stale
  SyncToken 5010, a duplicate name 6240, a missing record 610, a bad query 4000), with
  `code` a number in text. Name lists answer only active records unless the query asks
  for Active. Every route runs after identity's `guard` (g.tenant, g.realm)."""
from __future__ import annotations

from flask import Flask, Response, g, request

from ...core.oauth import json_response
from ...core.once import write_once
from ...core.util import loads
from ...ledger import catalogue, contacts, documents
from . import cdc, fault, query, records, writes
from .records import FACE, stamp

BASE = "/v3/company/<realm>"
ENTITIES = {"customer": "Customer", "vendor": "Vendor", "item": "Item", "account": "Account",
            "taxcode": "TaxCode", "taxrate": "TaxRate", "invoice": "Invoice", "bill": "Bill"}
NAME_LISTS = ("Customer", "Vendor", "Item", "Account", "TaxCode", "TaxRate")
TRANSACTIONS = ("Invoice", "Bill")
FAST_FIELDS = ("metadata.lastupdatedtime", "active")


def failure(code: str, message: str, detail: str, status: int = 400, kind: str = "ValidationFault") -> Response:
    return json_response(fault(status, code, message, detail, kind), status)


def not_found(entity: str, given: str) -> Response:
    return failure("610", "Object Not Found", f"Object Not Found : Something you're trying to use has been made "
                                              f"inactive or deleted. ({entity} {given})")


def register(app: Flask, sb) -> None:
    store = sb.store

    def render(entity: str, record: dict, lookups: dict) -> dict:
        tenant = g.tenant
        if entity in ("Customer", "Vendor"):
            return records.contact(store, tenant, record, entity)
        if entity == "Item":
            return records.item(store, tenant, record, lookups["accounts"], lookups["tax_codes"])
        if entity == "Account":
            return records.account(store, tenant, record, lookups["tax_codes"])
        if entity == "TaxCode":
            return records.tax_code(store, tenant, record)
        if entity in TRANSACTIONS:
            contact = lookups["contacts"](record["contact_id"])
            return records.document(store, tenant, record, contact, lookups, entity)
        return records.tax_rate(store, tenant, record)

    def lookups() -> dict:
        return {"accounts": catalogue.accounts(store, g.tenant), "tax_codes": catalogue.tax_codes(store, g.tenant),
                "items": catalogue.items(store, g.tenant), "contacts": contacts.reader(store, g.tenant)}

    def all_records(entity: str, active_only: bool, deleted: bool = False) -> list[dict]:
        tenant = g.tenant
        if entity in TRANSACTIONS:
            kind = records.DOCUMENTS[entity][0]
            gone = "" if deleted else " AND status != 'deleted'"
            return [store.doc(r) for r in store.query(
                f"SELECT doc FROM invoices WHERE tenant_id=? AND type=?{gone} ORDER BY seq", (tenant, kind))]  # noqa: S608
        if entity in ("Customer", "Vendor"):
            flag = "is_customer" if entity == "Customer" else "is_supplier"
            sql = f"SELECT doc FROM contacts WHERE tenant_id=? AND {flag}=1"  # noqa: S608 - fixed names
            if active_only:
                sql += " AND status != 'archived'"
            return [store.doc(r) for r in store.query(sql + " ORDER BY updated_ms, contact_id", (tenant,))]
        found = {"Item": lambda: catalogue.items(store, tenant), "Account": lambda: catalogue.accounts(store, tenant),
                 "TaxCode": lambda: catalogue.tax_codes(store, tenant),
                 "TaxRate": lambda: catalogue.tax_codes(store, tenant)}[entity]().values()
        return [r for r in found if not active_only or r.get("status", "active") != "archived"]

    def contacts_fast(entity: str, parsed: query.Query, active_only: bool):
        """A Customer or Vendor query the store's columns can answer (change time, Active,
        ordered by the change time): paged in SQL."""
        flag = "is_customer" if entity == "Customer" else "is_supplier"
        sql, params = ["tenant_id=?", f"{flag}=1"], [g.tenant]
        if active_only:
            sql.append("status != 'archived'")
        for name, op, value in parsed.where:
            if name.lower() == "active":
                sql.append("status != 'archived'" if value is True else "status = 'archived'")
            else:
                moment = query._moment(value)
                if not hasattr(moment, "timestamp") or op not in ("<", ">", "<=", ">=", "="):
                    return None
                sql.append(f"updated_ms {'=' if op == '=' else op} ?")
                params.append(int(moment.timestamp() * 1000))
        where = " AND ".join(sql)
        if parsed.count:
            return store.one(f"SELECT count(*) AS n FROM contacts WHERE {where}", params)["n"]  # noqa: S608
        direction = "DESC" if parsed.order and parsed.order[0][1] else "ASC"
        rows = store.query(f"SELECT doc FROM contacts WHERE {where} ORDER BY updated_ms {direction}, contact_id "  # noqa: S608
                           "LIMIT ? OFFSET ?", [*params, parsed.max_results, parsed.start - 1])
        return [records.contact(store, g.tenant, store.doc(r), entity) for r in rows]

    def run_query(text: str) -> Response:
        try:
            parsed = query.parse(text)
        except query.QueryError as exc:
            return failure(exc.code, exc.message, exc.detail)
        entity = next((e for e in (*NAME_LISTS, *TRANSACTIONS) if e.lower() == parsed.entity.lower()), None)
        if entity is None:
            return failure("4001", "Invalid query", f"QueryValidationError: Entity '{parsed.entity}' is not supported "
                                                    "by this sandbox.")
        active_only = entity in NAME_LISTS and not any(name.lower() == "active" for name, _, _ in parsed.where)
        found = None
        if entity in ("Customer", "Vendor") and all(n.lower() in FAST_FIELDS for n, _, _ in parsed.where) and \
                all(n.lower() == "metadata.lastupdatedtime" for n, _ in parsed.order):
            found = contacts_fast(entity, parsed, active_only)
        if found is None:
            extra = lookups()
            docs = [render(entity, r, extra) for r in all_records(entity, active_only)]
            docs = [d for d in docs if query.matches(d, parsed.where)]
            if parsed.count:
                found = len(docs)
            else:
                docs = query.sort(docs, parsed.order or [("Id", False)])
                found = docs[parsed.start - 1: parsed.start - 1 + parsed.max_results]
        if parsed.count:
            return json_response({"QueryResponse": {"totalCount": found}, "time": stamp()})
        answer = {entity: found, "startPosition": parsed.start, "maxResults": len(found)} if found else {}
        return json_response({"QueryResponse": answer, "time": stamp()})

    @app.route(f"{BASE}/query", methods=["GET", "POST"])
    def query_route(realm):
        text = request.args.get("query")
        if request.method == "POST" and not text:
            text = request.get_data(as_text=True)
        return run_query(text or "")

    @app.get(f"{BASE}/cdc")
    def change_data(realm):
        try:
            since = cdc.moment(request.args.get("changedSince"), sb.clock.now())
            asked = cdc.entities(request.args.get("entities"))
        except cdc.CdcError as exc:
            return failure(exc.code, exc.message, exc.detail)
        extra, changed = lookups(), {}
        for entity in asked:
            docs = []
            for record in all_records(entity, active_only=False, deleted=True):
                if record.get("updated_ms", 0) < since * 1000:
                    continue
                if record.get("status") == "deleted":
                    docs.append({"Id": records.number(store, g.tenant, records.ENTITY_KINDS[entity], record["id"]),
                                 "status": "Deleted", "domain": "QBO",
                                 "MetaData": {"LastUpdatedTime": stamp(record["updated_ms"])}})
                else:
                    docs.append(render(entity, record, extra))
            changed[entity] = docs
        return json_response(cdc.answer(changed, stamp()))

    @app.get(f"{BASE}/companyinfo/<company_id>")
    def company_info(realm, company_id):
        if company_id != realm:
            return not_found("CompanyInfo", company_id)
        return json_response({"CompanyInfo": records.company(store.organisation(g.tenant), realm), "time": stamp()})

    def record_of(entity: str, given: str) -> dict | None:
        kind = records.ENTITY_KINDS[entity]
        record_id = store.face_record(FACE, g.tenant, kind, given)
        if record_id is None:
            return None
        if entity in ("Customer", "Vendor"):
            return contacts.get(store, g.tenant, record_id)
        if entity in TRANSACTIONS:
            record = documents.get(store, g.tenant, record_id)
            return record if record and record["status"] != "deleted" else None
        if entity == "Item":
            return catalogue.get_item(store, g.tenant, record_id)
        pool = catalogue.accounts(store, g.tenant) if entity == "Account" else catalogue.tax_codes(store, g.tenant)
        return next((r for r in pool.values() if r["id"] == record_id), None)

    @app.get(f"{BASE}/<entity_path>/<given>")
    def read_one(realm, entity_path, given):
        entity = ENTITIES.get(entity_path.lower())
        if entity is None:
            return failure("4001", "Invalid query", f"Unsupported entity: {entity_path}")
        record = record_of(entity, given)
        if record is None:
            return not_found(entity, given)
        return json_response({entity: render(entity, record, lookups()), "time": stamp()})

    def once(handler) -> Response:
        """A write, once per requestid, in one transaction (rolled back when refused)."""
        key = request.args.get("requestid")
        if key is not None and (not key or len(key) > 50):
            return failure("2010", "Request has invalid or unsupported property",
                           "The requestid must be 1 to 50 characters long.")
        return write_once(sb, g.tenant, f"{FACE}:{key}" if key else None, handler)

    def body_and_current(entity: str):
        """The write's body and the record its Id names at that SyncToken (None for a
        create), or the fault to answer: (body, existing, None) or (None, None, fault)."""
        try:
            body = loads(request.get_data() or b"{}")
        except ValueError as exc:
            return None, None, failure("2000", "Request has invalid or unsupported property",
                                       f"The body is not JSON: {exc}")
        if not isinstance(body, dict):
            return None, None, failure("2000", "Request has invalid or unsupported property",
                                       f"Send one {entity} object.")
        given = body.get("Id")
        if given in (None, ""):
            return body, None, None
        existing = record_of(entity, str(given))
        if existing is None:
            return None, None, not_found(entity, str(given))
        if str(body.get("SyncToken")) != str(existing.get("version", 0)):
            return None, None, failure(
                "5010", "Stale Object Error", "Stale Object Error : You and another user were working on the same "
                f"thing. Please try again. (SyncToken {body.get('SyncToken')}, now {existing.get('version', 0)})")
        return body, existing, None

    def save_contact(entity: str) -> Response:
        body, existing, refused = body_and_current(entity)
        if refused is not None:
            return refused
        changes = records.contact_changes(body, entity, existing)
        if existing is None and not changes.get("name"):
            return failure("2020", "Required param missing, need to supply the required value for the API",
                           "Required parameter DisplayName is missing in the request")
        record, problems = contacts.save(store, g.tenant, changes, existing["id"] if existing else None)
        if problems:
            problem = problems[0]
            if problem.code == "name_taken":
                return failure("6240", "Duplicate Name Exists Error",
                               "The name supplied already exists. : Another customer, vendor or employee is already "
                               "using this name. Please use a different name.")
            return failure("6000", "A business validation error has occurred while processing your request",
                           f"Business Validation Error: {problem}")
        return json_response({entity: records.contact(store, g.tenant, record, entity), "time": stamp()})

    def save_document(entity: str) -> Response:
        body, existing, refused = body_and_current(entity)
        if refused is not None:
            return refused
        operation = (request.args.get("operation") or "").lower()
        if operation in ("void", "delete"):
            return end_document(entity, existing, operation)
        if operation:
            return failure("2010", "Request has invalid or unsupported property", f"Unknown operation {operation}.")
        try:
            changes = writes.document_changes(store, g.tenant, body, entity, existing, lookups())
        except writes.Fault as exc:
            return failure(exc.code, exc.message, exc.detail)
        record, problems = documents.save(store, g.tenant, changes, existing["id"] if existing else None)
        if problems:
            problem = problems[0]
            if problem.code == "wrong_total":
                return failure("6070", "Amount is not equal to UnitPrice * Qty",
                               f"Amount is not equal to UnitPrice * Qty. Supplied value: {problem}")
            if problem.code == "number_taken":
                return failure("6140", "Duplicate Document Number Error",
                               "Duplicate Document Number Error : You must specify a different number. "
                               "This number has already been used.")
            return failure("6000", "A business validation error has occurred while processing your request",
                           f"Business Validation Error: {problem}")
        return json_response({entity: render(entity, record, lookups()), "time": stamp()})

    def end_document(entity: str, existing: dict | None, operation: str) -> Response:
        """?operation=void (amounts to zero, the document kept) or delete (gone from every
        list): {Id, SyncToken}. A document with payments refuses both (6540)."""
        if existing is None:
            return failure("2020", "Required param missing, need to supply the required value for the API",
                           "Required parameter Id is missing in the request")
        record, problems = documents.save(store, g.tenant, {"status": "voided" if operation == "void" else "deleted"},
                                          existing["id"])
        if problems:
            return failure("6540", "Deposited Transaction cannot be changed",
                           f"This transaction can't be {operation}ed: {problems[0]}")
        tenant = g.tenant
        if operation == "delete":
            return json_response({entity: {"Id": records.number(store, tenant, records.ENTITY_KINDS[entity], record["id"]),
                                           "status": "Deleted", "domain": "QBO"}, "time": stamp()})
        return json_response({entity: render(entity, record, lookups()), "time": stamp()})

    @app.post(f"{BASE}/invoice")
    def write_invoice(realm):
        return once(lambda: save_document("Invoice"))

    @app.post(f"{BASE}/bill")
    def write_bill(realm):
        return once(lambda: save_document("Bill"))

    @app.post(f"{BASE}/customer")
    def write_customer(realm):
        return once(lambda: save_contact("Customer"))

    @app.post(f"{BASE}/vendor")
    def write_vendor(realm):
        return once(lambda: save_contact("Vendor"))
