"""Xero's accounting API (/api.xro/2.0) over the sandbox's books: the Organisation,
Contacts, Items, Accounts, TaxRates, Invoices (and bills) and Payments, with Xero's
envelope, paging, `where` language, If-Modified-Since, summarizeErrors, Idempotency-Key,
and error bodies. The books' rules are the ledger's (sandbox/ledger/); lists.py reads
them in Xero's shapes (records.py), writes.py checks and saves Xero's bodies. Every route
runs after identity's `guard` (g.tenant).

summarizeErrors=true (the default) is all-or-nothing: when any element fails, nothing of
the batch is saved and 400 lists the failing elements. summarizeErrors=false saves the
good elements and returns 200 with every element, failing ones carrying
HasValidationErrors/ValidationErrors and StatusAttributeString "ERROR"."""
from __future__ import annotations

import uuid

from flask import Flask, Response, g, request

from ...core.middleware import SPEC_BODY
from ...core.oauth import json_response
from ...core.once import write_once
from ...core.util import dumps, loads, ms_date, parse_moment
from ...ledger import contacts, documents, payments
from . import lists, records, writes
from .identity import API
from .raw import Raw, raw_one

PROVIDER_NAME = "Factory"


def register(app: Flask, sb) -> None:
    store = sb.store

    # --- accounting: helpers ------------------------------------------------------------------

    def envelope(**parts) -> dict:
        return {"Id": str(uuid.uuid4()), "Status": "OK", "ProviderName": PROVIDER_NAME,
                "DateTimeUTC": ms_date(sb.clock.now_ms()).replace("+0000", ""), **parts}

    def listing(field: str, found: list, **parts) -> Response:
        """A list answer. Records stored raw (raw.Raw) go out as they were given; the spec
        checker is shown the same answer without them."""
        body = envelope(**parts, **{field: [r.value if isinstance(r, Raw) else r for r in found]})
        if any(isinstance(r, Raw) for r in found):
            request.environ[SPEC_BODY] = dumps(
                {**body, field: [r for r in found if not isinstance(r, Raw)]}).encode()
        return json_response(body)

    def raw_by_id(kind: str, field: str, record_id: str) -> Response | None:
        """GET by id of a record stored raw, if there is one with this id."""
        found = raw_one(store, g.tenant, kind, record_id)
        return listing(field, found) if found else None

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
        return write_once(sb, g.tenant, key, handler)

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
        return json_response(envelope(Organisations=[records.organisation(store.organisation(g.tenant))]))

    def paged(field: str, reader) -> Response:
        """A paged list (Contacts, Invoices, CreditNotes, Payments) as lists.py reads it."""
        try:
            found, pagination = reader(store, g.tenant, request.args, since())
        except lists.QueryError as exc:
            return query_error(exc)
        return listing(field, found, **({"pagination": pagination} if pagination else {}))

    @app.get(f"{API}/Contacts")
    def get_contacts():
        return paged("Contacts", lists.list_contacts)

    @app.get(f"{API}/Contacts/<contact_id>")
    def get_contact(contact_id):
        record = contacts.get(store, g.tenant, contact_id) or contacts.by_number(store, g.tenant, contact_id)
        if record is None:
            return raw_by_id("contact", "Contacts", contact_id) or not_found()
        return json_response(envelope(Contacts=[records.contact_out(records.contact(record))]))

    def simple_list(table: str, field: str):
        try:
            found = lists.simple_list(store, g.tenant, table, request.args.get("where"), since())
        except lists.QueryError as exc:
            return query_error(exc)
        return listing(field, found)

    @app.get(f"{API}/Items")
    def get_items():
        return simple_list("items", "Items")

    @app.get(f"{API}/Accounts")
    def get_accounts():
        return simple_list("accounts", "Accounts")

    @app.get(f"{API}/TaxRates")
    def get_tax_rates():
        return simple_list("taxrates", "TaxRates")

    # --- accounting: contacts ------------------------------------------------------------

    def write_list(field: str, noun: str, save, out, error_flag: str, mode: str, path_id=None):
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
            return write_list(field, noun, save, out, error_flag, "create")

        def upsert():
            return write_list(field, noun, save, out, error_flag, "upsert")

        def update(record_id):
            if exists(g.tenant, record_id) is None:
                return not_found()
            return write_list(field, noun, save, out, error_flag, "update", record_id.lower())
        app.add_url_rule(f"{API}/{field}", f"create_{noun}s", create, methods=["PUT"])
        app.add_url_rule(f"{API}/{field}", f"upsert_{noun}s", upsert, methods=["POST"])
        app.add_url_rule(f"{API}/{field}/<record_id>", f"update_{noun}", update, methods=["POST"])

    list_writes("Contacts", "contact", writes.save_contact, records.contact_out, "HasValidationErrors", store.get_contact)

    # --- accounting: invoices --------------------------------------------------------------

    @app.get(f"{API}/Invoices")
    def get_invoices():
        return paged("Invoices", lists.list_invoices)

    @app.get(f"{API}/Invoices/<invoice_id>")
    def get_invoice(invoice_id):
        record = documents.get(store, g.tenant, invoice_id) or documents.by_number(store, g.tenant, invoice_id)
        if record is not None and record["kind"] not in records.INVOICE_TYPES.values():
            record = None  # a credit note: /CreditNotes/{id}
        if record is None:
            return raw_by_id("invoice", "Invoices", invoice_id) or not_found()
        doc = records.invoice(record, contacts.get(store, g.tenant, record["contact_id"]))
        return json_response(envelope(Invoices=[records.invoice_out(doc)]))

    list_writes("Invoices", "invoice", writes.save_invoice, records.invoice_out, "HasErrors", store.get_invoice)

    # --- accounting: credit notes (read only: Factory sends none; the bookkeeper makes them) ---

    @app.get(f"{API}/CreditNotes")
    def get_credit_notes():
        return paged("CreditNotes", lists.list_credit_notes)

    @app.get(f"{API}/CreditNotes/<credit_note_id>")
    def get_credit_note(credit_note_id):
        record = documents.get(store, g.tenant, credit_note_id)
        if record is None or record["kind"] not in records.CREDIT_TYPES.values():
            return not_found()
        doc = records.credit_note(record, contacts.get(store, g.tenant, record["contact_id"]))
        return json_response(envelope(CreditNotes=[records.invoice_out(doc)]))

    # --- accounting: payments ------------------------------------------------------------------

    @app.route(f"{API}/Payments", methods=["PUT", "POST"])
    def create_payments():
        body, failure = read_body()
        if failure:
            return failure
        elements = wrapped(body, "Payments")
        return write(lambda: batch(elements, lambda e: writes.create_payment(store, g.tenant, e),
                                   records.payment_out, "Payments", "HasValidationErrors"))

    @app.get(f"{API}/Payments")
    def get_payments():
        return paged("Payments", lists.list_payments)

    @app.get(f"{API}/Payments/<payment_id>")
    def get_payment(payment_id):
        record = payments.get(store, g.tenant, payment_id)
        if record is None:
            return not_found()
        return json_response(envelope(Payments=[records.payment_out(writes.payment(store, g.tenant, record))]))
