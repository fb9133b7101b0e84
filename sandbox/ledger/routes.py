"""The bookkeeper's page's actions (Priya, in the package): apply and remove payments,
credit an invoice (a credit note allocated to it), approve, void or delete a document,
rename, archive or restore a contact, create and edit items, remove a connected app,
make the package misbehave for a while. Each change goes through the books' own rules
(contacts.py, catalogue.py, documents.py, payments.py, credits.py) in one transaction,
with its webhooks, as the same change made in the package would; the page then says
what happened."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, Response, request

from ..core.state import Rollback
from ..core.util import parse_day
from . import catalogue, contacts, credits, documents, page, payments


def register(app: Flask, sb) -> None:
    store = sb.store

    @app.get("/")
    @app.get("/ledger")
    def ledger_page():
        return page.ledger_page(sb, request.args.get("message"))

    def bookkeeper(change, done: str, refused: str) -> Response:
        """One change made on the ledger page as the bookkeeper would in the package: in
        one transaction (rolled back when the books refuse it), with its webhooks; back to
        the page with what happened."""
        sb.begin_events()
        errors: list[str] = []
        with store.lock:
            try:
                with store.tx():
                    errors = change()
                    if errors:
                        raise Rollback(None)
            except Rollback:
                sb.drop_events()
        sb.flush_events(request.host_url.rstrip("/"))
        message = done if not errors else f"{refused}: " + " ".join(errors)
        return Response(status=303, headers={"Location": "/ledger?" + urlencode({"message": message})})

    @app.post("/ledger/payments")
    def ledger_payment():
        form = request.form
        tenant, invoice_id = form.get("tenant_id", ""), form.get("invoice_id", "")
        try:
            day = parse_day(form.get("date")) or None
        except ValueError:
            return bookkeeper(lambda: ["The date must be a date."], "", "Payment refused")
        return bookkeeper(lambda: payments.apply(store, tenant, invoice_id, form.get("account") or "090",
                                                 form.get("amount"), day, form.get("reference") or "Ledger page")[1],
                          "Payment applied.", "Payment refused")

    INVOICE_ACTIONS = {"approve": ("authorised", "Approved."), "void": ("voided", "Voided."),
                       "delete": ("deleted", "Deleted.")}

    @app.post("/ledger/invoices/<invoice_id>/credit")
    def ledger_credit(invoice_id):
        form = request.form
        return bookkeeper(lambda: credits.credit(store, form.get("tenant_id", ""), invoice_id, form.get("credit"),
                                                 reason=(form.get("reason") or "").strip())[1],
                          "Credit note made and allocated.", "Credit refused")

    @app.post("/ledger/invoices/<invoice_id>/<action>")
    def ledger_invoice(invoice_id, action):
        if action not in INVOICE_ACTIONS:
            return Response("No such action.", status=404, mimetype="text/plain")
        status, done = INVOICE_ACTIONS[action]
        tenant = request.form.get("tenant_id", "")
        return bookkeeper(lambda: documents.save(store, tenant, {"status": status}, invoice_id)[1], done, "Refused")

    @app.post("/ledger/contacts/<contact_id>/<action>")
    def ledger_contact(contact_id, action):
        tenant, form = request.form.get("tenant_id", ""), request.form
        changes = {"archive": {"status": "archived"}, "restore": {"status": "active"},
                   "rename": {"name": (form.get("name") or "").strip()},
                   "email": {"email": (form.get("email") or "").strip()}}.get(action)
        if changes is None:
            return Response("No such action.", status=404, mimetype="text/plain")
        done = {"archive": "Archived.", "restore": "Restored.", "rename": "Renamed.", "email": "Email saved."}[action]
        if action == "rename" and not changes["name"]:
            return bookkeeper(lambda: ["A contact needs a name."], done, "Refused")
        return bookkeeper(lambda: contacts.save(store, tenant, changes, contact_id)[1], done, "Refused")

    def item_fields(form) -> dict:
        return {"code": form.get("code", ""), "name": form.get("name", ""),
                "description": form.get("description", ""), "sale_price": (form.get("sale_price") or "").strip(),
                "purchase_price": (form.get("purchase_price") or "").strip()}

    @app.post("/ledger/items")
    def ledger_new_item():
        tenant = request.form.get("tenant_id", "")
        return bookkeeper(lambda: catalogue.save_item(store, tenant, item_fields(request.form))[1], "Item created.",
                          "Not created")

    @app.post("/ledger/items/<item_id>/edit")
    def ledger_edit_item(item_id):
        tenant = request.form.get("tenant_id", "")
        return bookkeeper(lambda: catalogue.save_item(store, tenant, item_fields(request.form), item_id)[1],
                          "Item saved.", "Not saved")

    @app.post("/ledger/payments/<payment_id>/remove")
    def ledger_remove_payment(payment_id):
        tenant = request.form.get("tenant_id", "")
        return bookkeeper(lambda: payments.remove(store, tenant, payment_id)[1], "Payment removed.", "Refused")

    SPELLS = {"down": ("503", 1.0, "down (503 to every call)"), "slow": ("timeout", 1.0, "slow (5 s a call)"),
              "limited": ("429", 1.0, "over its rate limit (429 to every call)"),
              "flaky": ("500", 0.3, "flaky (500 to 3 calls in 10)")}

    @app.post("/ledger/misbehave")
    def ledger_misbehave():
        kind = request.form.get("kind", "")
        try:
            minutes = min(max(float(request.form.get("minutes") or 5), 0.1), 120)
        except ValueError:
            minutes = 5
        if kind == "stop":
            sb.spell = None
            message = "The package behaves again."
        elif kind == "revoke":
            with store.tx() as db:
                db.execute("UPDATE refresh_tokens SET revoked=1")
            message = "Every refresh token was revoked: apps must be connected again once their access token ends."
        elif kind in SPELLS:
            fault, rate, words = SPELLS[kind]
            sb.spell = {"kind": fault, "rate": rate, "until": sb.clock.now() + minutes * 60, "seconds": 5,
                        "name": kind}
            message = f"The package is {words} for {minutes:g} minutes."
        else:
            message = "Choose how the package should misbehave."
        return Response(status=303, headers={"Location": "/ledger?" + urlencode({"message": message})})

    @app.post("/ledger/apps/<cid>/remove")
    def ledger_remove_app(cid):
        def remove():
            gone = store.run("DELETE FROM connections WHERE id=?", (cid.lower(),))
            return [] if gone.rowcount else ["That app is not connected."]
        return bookkeeper(remove, "Factory was removed from the connected apps: it can no longer reach these books.",
                          "Not removed")
