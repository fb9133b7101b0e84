"""Xero's accounting API (/api.xro/2.0) over the sandbox's books: the Organisation,
Contacts, Items, Accounts, TaxRates, Invoices (and bills) and Payments, with Xero's
envelope, paging, `where` language, If-Modified-Since, summarizeErrors, Idempotency-Key,
and error bodies. The books' rules are the ledger's (sandbox/ledger/books.py); this
module is their Xero face. Every route runs after identity's `guard` (g.tenant)."""
from __future__ import annotations

import uuid

from flask import Flask, Response, g, request

from ...core.middleware import SPEC_BODY
from ...core.oauth import json_response
from ...core.state import Rollback
from ...core.util import dumps, loads, ms_date, parse_moment
from ...ledger import books
from .identity import API

PROVIDER_NAME = "Factory"


def register(app: Flask, sb) -> None:
    store = sb.store

    # --- accounting: helpers ------------------------------------------------------------------

    def envelope(**parts) -> dict:
        return {"Id": str(uuid.uuid4()), "Status": "OK", "ProviderName": PROVIDER_NAME,
                "DateTimeUTC": ms_date(sb.clock.now_ms()).replace("+0000", ""), **parts}

    def listing(field: str, records: list, **parts) -> Response:
        """A list answer. Records stored raw (books.Raw) go out as they were given; the spec
        checker is shown the same answer without them."""
        body = envelope(**parts, **{field: [r.value if isinstance(r, books.Raw) else r for r in records]})
        if any(isinstance(r, books.Raw) for r in records):
            request.environ[SPEC_BODY] = dumps(
                {**body, field: [r for r in records if not isinstance(r, books.Raw)]}).encode()
        return json_response(body)

    def raw_one(kind: str, field: str, record_id: str) -> Response | None:
        """GET by id of a record stored raw, if there is one with this id."""
        wanted = record_id.lower()
        found = [books.Raw(value) for rid, _, value in store.raw_records(g.tenant, kind) if rid == wanted]
        return listing(field, found[-1:]) if found else None

    def since() -> float | None:
        return parse_moment(request.headers.get("If-Modified-Since"))

    def query_error(exc) -> Response:
        return json_response({"ErrorNumber": 16, "Type": "QueryParseException", "Message": str(exc)}, 400)

    def validation_error(elements) -> Response:
        return json_response({"ErrorNumber": 10, "Type": "ValidationException",
                              "Message": "A validation exception occurred", "Elements": elements}, 400)

    def not_found() -> Response:
        return json_response({"Title": "Not Found", "Status": 404,
                              "Detail": "The resource you're looking for cannot be found"}, 404)

    def read_body():
        try:
            return loads(request.get_data() or b"{}"), None
        except ValueError as exc:
            return None, json_response({"ErrorNumber": 17, "Type": "PostDataInvalidException",
                                        "Message": f"The request body is not valid JSON: {exc}"}, 400)

    def summarize() -> bool:
        return request.args.get("summarizeErrors", "true").lower() != "false"

    def write(handler):
        """Run a write once per Idempotency-Key, in one transaction, then send its webhooks."""
        key = request.headers.get("Idempotency-Key")
        if key is not None and len(key) > 128:
            return validation_error([{"ValidationErrors": [
                {"Message": "The Idempotency-Key header must not be longer than 128 characters."}]}])
        tenant = g.tenant
        with store.lock:
            if key:
                row = store.one("SELECT status, body FROM idempotency WHERE tenant_id=? AND key=?", (tenant, key))
                if row:
                    return Response(row["body"], status=row["status"], mimetype="application/json")
            sb.begin_events()
            try:
                with store.tx():
                    response = handler()
                    if response.status_code >= 400:
                        raise Rollback(response)
            except Rollback as rollback:
                response = rollback.response
                sb.local.pending = []
            if key:
                store.run("INSERT OR REPLACE INTO idempotency (tenant_id, key, status, body, created) VALUES (?,?,?,?,?)",
                          (tenant, key, response.status_code, response.get_data(as_text=True), sb.clock.now()))
        sb.flush_events(request.host_url.rstrip("/"))
        return response

    def batch(elements, save, render, id_field, error_flag):
        """Apply save() to each element; Xero's summarizeErrors semantics."""
        if not isinstance(elements, list):
            return validation_error([{"ValidationErrors": [{"Message": "The request body must hold a list."}]}])
        results, failed = [], []
        for element in elements:
            store.run("SAVEPOINT element")
            pending = len(getattr(sb.local, "pending", None) or [])
            doc, errors = save(element)
            if errors:
                store.run("ROLLBACK TO element")
                if sb.local.pending is not None:
                    del sb.local.pending[pending:]
                failed_element = dict(element) if isinstance(element, dict) else {}
                failed_element.update({error_flag: True, "StatusAttributeString": "ERROR",
                                       "ValidationErrors": [{"Message": m} for m in errors]})
                failed.append(failed_element)
                results.append(failed_element)
            else:
                results.append(dict(render(doc), StatusAttributeString="OK"))
            store.run("RELEASE element")
        if failed and summarize():
            return validation_error([{k: v for k, v in f.items() if k not in ("StatusAttributeString", error_flag)}
                                     for f in failed])
        return json_response(envelope(**{id_field: results}))

    def wrapped(body, name):
        if isinstance(body, dict) and name in body:
            return body[name]
        if isinstance(body, list):
            return body
        return [body]

    # --- accounting: reads ------------------------------------------------------------

    @app.get(f"{API}/Organisation")
    def get_organisation():
        return json_response(envelope(Organisations=[store.organisation(g.tenant)]))

    @app.get(f"{API}/Contacts")
    def get_contacts():
        try:
            contacts, pagination = books.list_contacts(store, g.tenant, request.args, since())
        except books.QueryError as exc:
            return query_error(exc)
        parts = {"pagination": pagination} if pagination else {}
        return listing("Contacts", contacts, **parts)

    @app.get(f"{API}/Contacts/<contact_id>")
    def get_contact(contact_id):
        doc = store.get_contact(g.tenant, contact_id)
        if doc is None:
            row = store.one("SELECT doc FROM contacts WHERE tenant_id=? AND doc LIKE ?",
                            (g.tenant, '%"ContactNumber":' + dumps(contact_id) + "%"))
            doc = loads(row["doc"]) if row else None
        if doc is None:
            return raw_one("contact", "Contacts", contact_id) or not_found()
        return json_response(envelope(Contacts=[books.contact_out(doc)]))

    def simple_list(table: str, field: str, order: str, raw_kind: str):
        moment = since()
        if table == "taxrates":
            moment = None
        rows = store.query(f"SELECT doc FROM {table} WHERE tenant_id=? ORDER BY {order}", (g.tenant,))  # noqa: S608
        docs = [loads(r["doc"]) for r in rows]
        if moment is not None:
            docs = [d for d in docs if d.get("UpdatedDateUTC", 0) >= moment * 1000]
        try:
            where = books.parse_where(request.args.get("where"))
        except books.QueryError as exc:
            return query_error(exc)
        docs = [d for d in docs if books.matches(d, where)]
        for d in docs:
            if "UpdatedDateUTC" in d:
                d["UpdatedDateUTC"] = ms_date(d["UpdatedDateUTC"])
        return listing(field, docs + books.raw_listed(store, g.tenant, raw_kind, moment, where))

    @app.get(f"{API}/Items")
    def get_items():
        return simple_list("items", "Items", "code", "item")

    @app.get(f"{API}/Accounts")
    def get_accounts():
        return simple_list("accounts", "Accounts", "code", "account")

    @app.get(f"{API}/TaxRates")
    def get_tax_rates():
        return simple_list("taxrates", "TaxRates", "rowid", "tax_rate")

    # --- accounting: contacts ------------------------------------------------------------

    def writes(field: str, noun: str, save, out, error_flag: str, mode: str, path_id=None):
        """A PUT or POST of a list's records (`field`: Contacts, Invoices), each saved by
        the books in `mode`; one record only when the path names it."""
        body, failure = read_body()
        if failure:
            return failure
        elements = wrapped(body, field)
        if path_id and len(elements) != 1:
            return validation_error([{"ValidationErrors": [{"Message": f"Send exactly one {noun}."}]}])
        return write(lambda: batch(elements, lambda e: save(store, g.tenant, e, mode, path_id), out, field, error_flag))

    def list_writes(field: str, noun: str, save, out, error_flag: str, exists) -> None:
        """A list's writes: PUT creates, POST creates or updates, POST /<id> updates the one
        the path names (404 when there is none)."""
        def create():
            return writes(field, noun, save, out, error_flag, "create")

        def upsert():
            return writes(field, noun, save, out, error_flag, "upsert")

        def update(record_id):
            if exists(g.tenant, record_id) is None:
                return not_found()
            return writes(field, noun, save, out, error_flag, "update", record_id.lower())
        app.add_url_rule(f"{API}/{field}", f"create_{noun}s", create, methods=["PUT"])
        app.add_url_rule(f"{API}/{field}", f"upsert_{noun}s", upsert, methods=["POST"])
        app.add_url_rule(f"{API}/{field}/<record_id>", f"update_{noun}", update, methods=["POST"])

    list_writes("Contacts", "contact", books.save_contact, books.contact_out, "HasValidationErrors", store.get_contact)

    # --- accounting: invoices --------------------------------------------------------------

    @app.get(f"{API}/Invoices")
    def get_invoices():
        try:
            invoices, pagination = books.list_invoices(store, g.tenant, request.args, since())
        except books.QueryError as exc:
            return query_error(exc)
        parts = {"pagination": pagination} if pagination else {}
        return listing("Invoices", invoices, **parts)

    @app.get(f"{API}/Invoices/<invoice_id>")
    def get_invoice(invoice_id):
        doc = store.get_invoice(g.tenant, invoice_id)
        if doc is None:
            row = store.one("SELECT doc FROM invoices WHERE tenant_id=? AND number=?", (g.tenant, invoice_id))
            doc = loads(row["doc"]) if row else None
        if doc is None:
            return raw_one("invoice", "Invoices", invoice_id) or not_found()
        return json_response(envelope(Invoices=[books.invoice_out(doc)]))

    list_writes("Invoices", "invoice", books.save_invoice, books.invoice_out, "HasErrors", store.get_invoice)

    # --- accounting: payments ------------------------------------------------------------------

    @app.route(f"{API}/Payments", methods=["PUT", "POST"])
    def create_payments():
        body, failure = read_body()
        if failure:
            return failure
        elements = wrapped(body, "Payments")
        return write(lambda: batch(elements, lambda e: books.create_payment(store, g.tenant, e),
                                   books.payment_out, "Payments", "HasValidationErrors"))

    @app.get(f"{API}/Payments")
    def get_payments():
        try:
            payments, pagination = books.list_payments(store, g.tenant, request.args, since())
        except books.QueryError as exc:
            return query_error(exc)
        parts = {"pagination": pagination} if pagination else {}
        return json_response(envelope(**parts, Payments=payments))

    @app.get(f"{API}/Payments/<payment_id>")
    def get_payment(payment_id):
        row = store.one("SELECT doc FROM payments WHERE tenant_id=? AND payment_id=?", (g.tenant, payment_id.lower()))
        return json_response(envelope(Payments=[books.payment_out(loads(row["doc"]))])) if row else not_found()
