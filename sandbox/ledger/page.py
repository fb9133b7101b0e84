"""The bookkeeper's page: where a person plays the bookkeeper (Priya) in the books every
face serves: connected apps, contacts, invoices, bills and credit notes, and an
"Apply payment" and a "Credit" form per AUTHORISED invoice; approve, void or delete a document; rename,
change its email, archive or restore a contact; create and edit items; remove a connected app. No JavaScript. Every name on the
page came from an API client: all of it is escaped."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from html import escape

from flask import Response

from ..core.html import page
from . import catalogue, contacts

def sb_user() -> str:
    from .seed import SANDBOX_USER
    return SANDBOX_USER


def _money(value) -> str:
    return f"{Decimal(str(value)):,.2f}"


def _action(path: str, tenant: str, label: str, css: str = "", fields: str = "") -> str:
    """A one-button form posting to the ledger (with the organisation's id)."""
    kind = f" class='{css}'" if css else ""
    return (f"<form class='inline' method='post' action='{escape(path, quote=True)}'>"
            f"<input type='hidden' name='tenant_id' value='{escape(tenant, quote=True)}'>{fields}"
            f"<button type='submit'{kind}>{escape(label)}</button></form>")


KINDS = {"sale": "Invoice", "purchase": "Bill", "sale_credit": "Credit note", "purchase_credit": "Supplier credit"}
AMOUNTS = {"exclusive": "tax exclusive", "inclusive": "tax inclusive", "notax": "no tax"}


def _document(inv: dict) -> str:
    """The document's number, opening onto its lines, tax and totals."""
    lines = "".join(
        f"<tr><td>{escape(str(line.get('description') or ''))}</td><td class='num'>{escape(str(line.get('quantity')))}</td>"
        f"<td class='num'>{_money(line.get('unit_price') or 0)}</td><td>{escape(str(line.get('tax_code') or ''))}</td>"
        f"<td class='num'>{_money(line.get('tax_amount') or 0)}</td><td class='num'>{_money(line.get('line_amount') or 0)}</td></tr>"
        for line in inv.get("lines") or ())
    return (f"<details><summary>{escape(inv.get('number') or '—')}</summary>"
            f"<table class='lines'><thead><tr><th>Description</th><th class='num'>Qty</th><th class='num'>Unit</th>"
            f"<th>Tax</th><th class='num'>Tax amount</th><th class='num'>Amount</th></tr></thead><tbody>{lines}</tbody>"
            f"<tfoot><tr><td colspan='5'>Subtotal ({escape(AMOUNTS.get(inv.get('amounts'), ''))})</td>"
            f"<td class='num'>{_money(inv.get('subtotal') or 0)}</td></tr>"
            f"<tr><td colspan='5'>Tax</td><td class='num'>{_money(inv.get('tax') or 0)}</td></tr>"
            f"<tr><td colspan='5'><b>Total</b></td><td class='num'><b>{_money(inv.get('total') or 0)}</b></td></tr>"
            f"</tfoot></table></details>")


def _contact_details(c: dict) -> str:
    """Its phones, addresses and people, as the package holds them."""
    phones = [" ".join(str(p.get(k) or "") for k in ("country", "area", "number")).strip() + f" ({p['kind']})"
              for p in c.get("phones") or () if p.get("number")]
    addresses = [", ".join([*(str(x) for x in a.get("lines") or () if x),
                            *(str(a.get(k)) for k in ("city", "region", "postcode", "country") if a.get(k))])
                 + f" ({a.get('kind')})"
                 for a in c.get("addresses") or () if a.get("lines") or a.get("city") or a.get("postcode")]
    people = [" ".join(str(p.get(k) or "") for k in ("first_name", "last_name")).strip()
              + (f" <{p['email']}>" if p.get("email") else "") for p in c.get("people") or ()]
    items = [("Phone", p) for p in phones] + [("Address", a) for a in addresses] + [("Person", p) for p in people]
    if not items:
        return escape(c["name"])
    listed = "".join(f"<li>{kind}: {escape(text)}</li>" for kind, text in items)
    return f"<details><summary>{escape(c['name'])}</summary><ul class='details'>{listed}</ul></details>"


def _contact_row(tenant: str, c: dict) -> str:
    path = f"/ledger/contacts/{c['id']}"
    kinds = " / ".join(k for k, flag in (("Customer", c.get("is_customer")), ("Supplier", c.get("is_supplier"))) if flag)
    archived = c.get("status") == "archived"
    rename = _action(f"{path}/rename", tenant, "Rename", "secondary",
                     f"<input name='name' aria-label='New name for {escape(c['name'], quote=True)}' "
                     f"value='{escape(c['name'], quote=True)}' style='width:180px'>")
    email = _action(f"{path}/email", tenant, "Save email", "secondary",
                    f"<input name='email' type='email' aria-label='Email of {escape(c['name'], quote=True)}' "
                    f"value='{escape(c.get('email') or '', quote=True)}' style='width:180px'>")
    status = _action(f"{path}/restore", tenant, "Restore", "secondary") if archived else \
        _action(f"{path}/archive", tenant, "Archive", "secondary")
    return (f"<tr><td>{_contact_details(c)}</td><td>{escape(c.get('email') or '')}</td><td>{kinds}</td>"
            f"<td>{escape(str(c.get('status')).upper())}</td><td>{rename}{email}{status}</td></tr>")


def _price(booking) -> str:
    value = (booking or {}).get("price")
    return "" if value is None else str(value)


def _item_fields(item: dict | None) -> str:
    """Code, name, description and the two prices of an item, for a form."""
    item = item or {}
    label = escape(item.get("code") or "the new item", quote=True)
    fields = (("code", "Code", item.get("code") or "", "90px"), ("name", "Name", item.get("name") or "", "170px"),
              ("description", "Description", item.get("description") or "", "200px"),
              ("sale_price", "Sale price", _price(item.get("sold")), "80px"),
              ("purchase_price", "Purchase price", _price(item.get("bought")), "80px"))
    return "".join(f"<input name='{name}' aria-label='{words} of {label}' placeholder='{words}' "
                   f"value='{escape(str(value), quote=True)}' style='width:{width}'>"
                   for name, words, value, width in fields)


def _items(tenant: str, items: list[dict]) -> str:
    """Every item, each an edit form; and one to create an item."""
    rows = "".join(
        f"<tr id='item-{escape(i['id'], quote=True)}'><td>"
        + _action(f"/ledger/items/{i['id']}/edit", tenant, "Save", "secondary", _item_fields(i)) + "</td></tr>"
        for i in items) or "<tr><td class='muted'>No items</td></tr>"
    create = _action("/ledger/items", tenant, "Create item", fields=_item_fields(None))
    return (f"<h3>Items <span class='muted'>({len(items)})</span></h3>"
            f"<table class='items'><tbody>{rows}</tbody></table><p>{create}</p>")


MISBEHAVIOURS = (("down", "Down (503)"), ("slow", "Slow (5 s a call)"), ("limited", "Over its rate limit (429)"),
                 ("flaky", "Flaky (500 to 3 calls in 10)"), ("revoke", "Revoke every refresh token (now)"))


def _misbehave(sb) -> str:
    """Make the package misbehave for a while, and stop it."""
    spell = sb.spell
    now = sb.clock.now()
    state = "<p class='muted' id='behaviour'>The package behaves.</p>"
    if spell is not None and now < spell["until"]:
        left = max(1, round((spell["until"] - now) / 60))
        state = (f"<p class='error' id='behaviour'>Misbehaving: {escape(spell.get('name', spell['kind']))}, "
                 f"about {left} more minute{'s' if left != 1 else ''}.</p>")
    options = "".join(f"<option value='{key}'>{escape(label)}</option>" for key, label in MISBEHAVIOURS)
    return (f"<div class='card'><h2>Make the package misbehave</h2>{state}"
            f"<form class='inline' method='post' action='/ledger/misbehave'>"
            f"<select name='kind' aria-label='How'>{options}</select>"
            f"<input name='minutes' aria-label='Minutes' value='5' inputmode='decimal'> minutes "
            f"<button type='submit'>Start</button></form>"
            f"<form class='inline' method='post' action='/ledger/misbehave'><input type='hidden' name='kind' value='stop'>"
            f"<button type='submit' class='secondary'>Stop</button></form></div>")


def ledger_page(sb, message: str | None) -> Response:
    store = sb.store
    today = datetime.fromtimestamp(sb.clock.now(), tz=timezone.utc).date().isoformat()
    parts = [f"<p class='message'>{escape(message)}</p>" if message else ""]
    faces = {face.KEY: face.DISPLAY_NAME for face in sb.faces}
    for org in store.organisations():
        tenant = org["tenant_id"]
        apps = store.query("SELECT id, face, client_id, created FROM connections WHERE tenant_id=? ORDER BY created",
                           (tenant,))
        app_rows = "".join(
            f"<li>Factory <span class='muted'>(through {escape(faces.get(a['face'], a['face'] or ''))}, "
            f"client id {escape(a['client_id'])})</span> "
            f"{_action('/ledger/apps/' + a['id'] + '/remove', tenant, 'Remove', 'secondary')}</li>"
            for a in apps) or "<li class='muted'>No connected apps</li>"
        invoices = [store.doc(r) for r in store.query(
            "SELECT doc FROM invoices WHERE tenant_id=? ORDER BY seq DESC LIMIT 200", (tenant,))]
        names = {c["id"]: c["name"] for c in (contacts.get(store, tenant, i) for i in {inv["contact_id"] for inv in invoices})
                 if c}
        rows = []
        for inv in invoices:
            action, invoice_path = "", "/ledger/invoices/" + inv["id"]
            status = inv["status"]
            if status in ("draft", "submitted"):
                action = (_action(f"{invoice_path}/approve", tenant, "Approve")
                          + _action(f"{invoice_path}/delete", tenant, "Delete", "secondary"))
            elif status == "authorised" and not inv.get("payments"):
                action = _action(f"{invoice_path}/void", tenant, "Void", "secondary")
            action += "".join(_action(f"/ledger/payments/{p['id']}/remove", tenant,
                                      f"Remove payment of {_money(p['amount'])}", "secondary")
                              for p in inv.get("payments") or ())
            if status == "authorised" and inv["kind"] in ("sale", "purchase"):
                action += _action(f"{invoice_path}/credit", tenant, "Credit", "secondary", fields=(
                    f"<input name='credit' aria-label='Credit amount' value='{inv['due']}' inputmode='decimal' "
                    "style='width:90px'>"))
                action = _action("/ledger/payments", tenant, "Apply payment", fields=(
                    f"<input type='hidden' name='invoice_id' value='{escape(inv['id'], quote=True)}'>"
                    f"<input name='amount' aria-label='Amount' value='{inv['due']}' inputmode='decimal'>"
                    f"<input name='date' aria-label='Date' type='date' value='{today}' style='width:130px'>")) + action
            rows.append(
                f"<tr id='invoice-{escape(inv['id'], quote=True)}'><td>{_document(inv)}</td>"
                f"<td>{KINDS[inv['kind']]}</td>"
                f"<td>{escape(names.get(inv['contact_id'], ''))}</td><td>{escape(inv.get('reference') or '')}</td>"
                f"<td><span class='status {status.upper()}'>{status.upper()}</span></td>"
                f"<td class='num'>{_money(inv['total'])}</td><td class='num'>{_money(inv['paid'])}</td>"
                f"<td class='num'>{_money(inv['due'])}</td><td>{action}</td></tr>")
        contact_count = store.one("SELECT count(*) AS n FROM contacts WHERE tenant_id=?", (tenant,))["n"]
        latest = [store.doc(r) for r in store.query(
            "SELECT doc FROM contacts WHERE tenant_id=? ORDER BY updated_ms DESC LIMIT 100", (tenant,))]
        contact_rows = "".join(_contact_row(tenant, c) for c in latest)
        items = list(catalogue.items(store, tenant).values())
        parts.append(f"""
<section class='card' id='org-{tenant}'>
  <h2>{escape(org['name'])}</h2>
  <h3>Connected apps</h3><ul class='apps'>{app_rows}</ul>
  <h3>Invoices and bills</h3>
  <table><thead><tr><th>Number</th><th>Type</th><th>Contact</th><th>Reference</th><th>Status</th>
  <th class='num'>Total</th><th class='num'>Paid</th><th class='num'>Due</th><th></th></tr></thead>
  <tbody>{''.join(rows) or "<tr><td colspan='9' class='muted'>No invoices</td></tr>"}</tbody></table>
  <h3>Contacts <span class='muted'>({contact_count}; latest 100 shown)</span></h3>
  <table><thead><tr><th>Name</th><th>Email</th><th>Kind</th><th>Status</th><th></th></tr></thead><tbody>{contact_rows}</tbody></table>
  {_items(tenant, items)}
</section>""")
    intro = ("<div class='card'><h1>Sandbox ledger</h1><p>Signed in as " + escape(sb_user()) +
             " (sandbox). This page plays the bookkeeper in the package (" + escape(", ".join(sb.face_names)) +
             ": the same books behind each): apply payments here and watch Factory follow.</p></div>")
    intro += _misbehave(sb)
    return page("Sandbox ledger", intro + "".join(parts))
