"""Plain HTML pages: the consent page (Xero's login.xero.com), error pages, and the ledger
where a person plays the bookkeeper (Priya): connected apps, contacts, invoices, and an
"Apply payment" form per AUTHORISED invoice; approve, void or delete a document; rename,
archive or restore a contact; remove a connected app. No JavaScript. Every name on the
page came from an API client: all of it is escaped."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from html import escape

from flask import Response

from .util import loads

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f4f6f8;color:#1d2b36}
header{background:#13b5ea;color:#fff;padding:12px 24px;display:flex;justify-content:space-between;align-items:center}
header b{font-size:1.2em} main{max-width:1100px;margin:24px auto;padding:0 16px}
.card{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:20px;margin-bottom:20px}
table{border-collapse:collapse;width:100%;font-size:.92em} th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e3e8ec}
th{background:#f7f9fa} td.num{text-align:right;font-variant-numeric:tabular-nums}
.status{font-size:.8em;padding:2px 6px;border-radius:4px;background:#e3e8ec}
.AUTHORISED{background:#fff3cd}.PAID{background:#d4edda}.VOIDED,.DELETED{background:#f8d7da}.DRAFT{background:#e2e3e5}
button{background:#13b5ea;color:#fff;border:0;border-radius:4px;padding:8px 14px;font-size:1em;cursor:pointer}
button.secondary{background:#fff;color:#1d2b36;border:1px solid #b5c0c8}
.error{background:#f8d7da;color:#721c24;padding:10px;border-radius:4px}
.message{background:#d4edda;color:#155724;padding:10px;border-radius:4px}
form.inline{display:flex;gap:4px;align-items:center} form.inline input{width:90px}
label.org{display:block;padding:8px;border:1px solid #e3e8ec;border-radius:4px;margin:6px 0}
.muted{color:#60707d;font-size:.9em}
"""


def page(title: str, body: str, status: int = 200) -> Response:
    html = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{STYLE}</style></head>"
            f"<body><header><b>Xero</b><span>Sandbox — not the real Xero</span></header><main>{body}</main></body></html>")
    return Response(html, status=status, mimetype="text/html")


def error_page(title: str, detail: str) -> Response:
    return page(title, f"<div class='card'><h1>{escape(title)}</h1><p class='error'>{escape(detail)}</p></div>", 400)


SCOPE_TEXT = {
    "openid": "Verify your identity", "profile": "See your name", "email": "See your email address",
    "offline_access": "Keep access when you are not using the app",
    "accounting.contacts": "View and manage your contacts", "accounting.contacts.read": "View your contacts",
    "accounting.settings": "View and manage your organisation settings",
    "accounting.settings.read": "View your organisation settings",
    "accounting.transactions": "View and manage your business transactions",
    "accounting.transactions.read": "View your business transactions",
    "accounting.invoices": "View and manage your invoices, bills and items",
    "accounting.invoices.read": "View your invoices, bills and items",
    "accounting.payments": "View and manage your payments", "accounting.payments.read": "View your payments",
}


def consent_page(sb, form, organisations, scopes, error: str | None = None) -> Response:
    keep = ("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
            "code_challenge_method", "nonce")
    hidden = "".join(f"<input type='hidden' name='{k}' value='{escape(form.get(k, ''), quote=True)}'>"
                     for k in keep if form.get(k) is not None)
    chosen = set(form.getlist("tenant")) if error is None and form.getlist("tenant") else set()
    boxes = "".join(
        f"<label class='org'><input type='checkbox' name='tenant' value='{o['tenant_id']}'"
        f"{' checked' if (o['tenant_id'] in chosen or (not chosen and i == 0 and error is None)) else ''}> "
        f"{escape(o['name'])}</label>" for i, o in enumerate(organisations))
    items = "".join(f"<li>{escape(SCOPE_TEXT.get(s, s))} <span class='muted'>({escape(s)})</span></li>" for s in scopes)
    problem = f"<p class='error' role='alert'>{escape(error)}</p>" if error else ""
    body = f"""
<div class='card'>
  <p class='muted'>Signed in as {escape(sb_user())} (sandbox)</p>
  <h1>Factory wants to connect to Xero</h1>
  <p>The app <b>{escape(form.get('client_id', ''))}</b> is asking to:</p>
  <ul>{items}</ul>
  {problem}
  <form method='post' action='/identity/connect/authorize'>
    {hidden}
    <fieldset style='border:0;padding:0'><legend><b>Organisations to connect</b></legend>{boxes}</fieldset>
    <p style='display:flex;gap:8px'>
      <button type='submit' name='action' value='allow'>Allow access</button>
      <button type='submit' name='action' value='cancel' class='secondary'>Cancel</button>
    </p>
  </form>
</div>"""
    return page("Xero | Authorise app", body)


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


def _document(inv: dict) -> str:
    """The document's number, opening onto its lines, tax and totals."""
    lines = "".join(
        f"<tr><td>{escape(str(line.get('Description') or ''))}</td><td class='num'>{escape(str(line.get('Quantity')))}</td>"
        f"<td class='num'>{_money(line.get('UnitAmount') or 0)}</td><td>{escape(str(line.get('TaxType') or ''))}</td>"
        f"<td class='num'>{_money(line.get('TaxAmount') or 0)}</td><td class='num'>{_money(line.get('LineAmount') or 0)}</td></tr>"
        for line in inv.get("LineItems") or ())
    return (f"<details><summary>{escape(inv.get('InvoiceNumber') or '—')}</summary>"
            f"<table class='lines'><thead><tr><th>Description</th><th class='num'>Qty</th><th class='num'>Unit</th>"
            f"<th>Tax</th><th class='num'>Tax amount</th><th class='num'>Amount</th></tr></thead><tbody>{lines}</tbody>"
            f"<tfoot><tr><td colspan='5'>Subtotal ({escape(str(inv.get('LineAmountTypes') or ''))})</td>"
            f"<td class='num'>{_money(inv.get('SubTotal') or 0)}</td></tr>"
            f"<tr><td colspan='5'>Tax</td><td class='num'>{_money(inv.get('TotalTax') or 0)}</td></tr>"
            f"<tr><td colspan='5'><b>Total</b></td><td class='num'><b>{_money(inv.get('Total') or 0)}</b></td></tr>"
            f"</tfoot></table></details>")


def _contact_details(c: dict) -> str:
    """Its phones, addresses and people, as the package holds them."""
    phones = [" ".join(str(p.get(k) or "") for k in ("PhoneCountryCode", "PhoneAreaCode", "PhoneNumber")).strip()
              for p in c.get("Phones") or () if p.get("PhoneNumber")]
    addresses = [", ".join(str(a.get(k)) for k in ("AddressLine1", "AddressLine2", "City", "Region", "PostalCode",
                                                  "Country") if a.get(k)) + f" ({a.get('AddressType')})"
                 for a in c.get("Addresses") or () if any(a.get(k) for k in ("AddressLine1", "City", "PostalCode"))]
    people = [" ".join(str(p.get(k) or "") for k in ("FirstName", "LastName")).strip()
              + (f" <{p['EmailAddress']}>" if p.get("EmailAddress") else "") for p in c.get("ContactPersons") or ()]
    items = [("Phone", p) for p in phones] + [("Address", a) for a in addresses] + [("Person", p) for p in people]
    if not items:
        return escape(c["Name"])
    listed = "".join(f"<li>{kind}: {escape(text)}</li>" for kind, text in items)
    return f"<details><summary>{escape(c['Name'])}</summary><ul class='details'>{listed}</ul></details>"


def _contact_row(tenant: str, c: dict) -> str:
    path = f"/ledger/contacts/{c['ContactID']}"
    kinds = " / ".join(k for k, flag in (("Customer", c.get("IsCustomer")), ("Supplier", c.get("IsSupplier"))) if flag)
    archived = c.get("ContactStatus") == "ARCHIVED"
    rename = _action(f"{path}/rename", tenant, "Rename", "secondary",
                     f"<input name='name' aria-label='New name for {escape(c['Name'], quote=True)}' "
                     f"value='{escape(c['Name'], quote=True)}' style='width:180px'>")
    status = _action(f"{path}/restore", tenant, "Restore", "secondary") if archived else \
        _action(f"{path}/archive", tenant, "Archive", "secondary")
    return (f"<tr><td>{_contact_details(c)}</td><td>{escape(c.get('EmailAddress') or '')}</td><td>{kinds}</td>"
            f"<td>{escape(str(c.get('ContactStatus')))}</td><td>{rename}{status}</td></tr>")


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
    for org in store.organisations():
        tenant = org["tenant_id"]
        apps = store.query("SELECT id, client_id, created FROM connections WHERE tenant_id=? ORDER BY created",
                           (tenant,))
        app_rows = "".join(
            f"<li>Factory <span class='muted'>(client id {escape(a['client_id'])})</span> "
            f"{_action('/ledger/apps/' + a['id'] + '/remove', tenant, 'Remove', 'secondary')}</li>"
            for a in apps) or "<li class='muted'>No connected apps</li>"
        invoices = [loads(r["doc"]) for r in store.query(
            "SELECT doc FROM invoices WHERE tenant_id=? ORDER BY seq DESC LIMIT 200", (tenant,))]
        rows = []
        for inv in invoices:
            action, invoice_path = "", "/ledger/invoices/" + inv["InvoiceID"]
            if inv["Status"] in ("DRAFT", "SUBMITTED"):
                action = (_action(f"{invoice_path}/approve", tenant, "Approve")
                          + _action(f"{invoice_path}/delete", tenant, "Delete", "secondary"))
            elif inv["Status"] == "AUTHORISED" and not inv.get("Payments"):
                action = _action(f"{invoice_path}/void", tenant, "Void", "secondary")
            action += "".join(_action(f"/ledger/payments/{p['PaymentID']}/remove", tenant,
                                      f"Remove payment of {_money(p['Amount'])}", "secondary")
                              for p in inv.get("Payments") or ())
            if inv["Status"] == "AUTHORISED":
                action = _action("/ledger/payments", tenant, "Apply payment", fields=(
                    f"<input type='hidden' name='invoice_id' value='{escape(inv['InvoiceID'], quote=True)}'>"
                    f"<input name='amount' aria-label='Amount' value='{inv['AmountDue']}' inputmode='decimal'>"
                    f"<input name='date' aria-label='Date' type='date' value='{today}' style='width:130px'>")) + action
            rows.append(
                f"<tr id='invoice-{escape(inv['InvoiceID'], quote=True)}'><td>{_document(inv)}</td>"
                f"<td>{'Invoice' if inv['Type'] == 'ACCREC' else 'Bill'}</td>"
                f"<td>{escape(inv['Contact']['Name'])}</td><td>{escape(inv.get('Reference') or '')}</td>"
                f"<td><span class='status {inv['Status']}'>{inv['Status']}</span></td>"
                f"<td class='num'>{_money(inv['Total'])}</td><td class='num'>{_money(inv['AmountPaid'])}</td>"
                f"<td class='num'>{_money(inv['AmountDue'])}</td><td>{action}</td></tr>")
        contact_count = store.one("SELECT count(*) AS n FROM contacts WHERE tenant_id=?", (tenant,))["n"]
        contacts = [loads(r["doc"]) for r in store.query(
            "SELECT doc FROM contacts WHERE tenant_id=? ORDER BY updated_ms DESC LIMIT 100", (tenant,))]
        contact_rows = "".join(_contact_row(tenant, c) for c in contacts)
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
</section>""")
    intro = ("<div class='card'><h1>Sandbox ledger</h1><p>Signed in as " + escape(sb_user()) +
             " (sandbox). This page plays the bookkeeper's Xero: apply payments here and watch Factory follow.</p></div>")
    intro += _misbehave(sb)
    return page("Xero sandbox ledger", intro + "".join(parts))
