"""Plain HTML pages: the consent page (Xero's login.xero.com), error pages, and the ledger
where a person plays the bookkeeper (Priya): connected apps, contacts, invoices, and an
"Apply payment" form per AUTHORISED invoice. No JavaScript."""
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


def ledger_page(sb, message: str | None) -> Response:
    store = sb.store
    today = datetime.fromtimestamp(sb.clock.now(), tz=timezone.utc).date().isoformat()
    parts = [f"<p class='message'>{escape(message)}</p>" if message else ""]
    for org in store.organisations():
        tenant = org["tenant_id"]
        apps = store.query("SELECT client_id, created FROM connections WHERE tenant_id=? ORDER BY created", (tenant,))
        app_rows = "".join(f"<li>Factory <span class='muted'>(client id {escape(a['client_id'])})</span></li>"
                           for a in apps) or "<li class='muted'>No connected apps</li>"
        invoices = [loads(r["doc"]) for r in store.query(
            "SELECT doc FROM invoices WHERE tenant_id=? ORDER BY seq DESC LIMIT 200", (tenant,))]
        rows = []
        for inv in invoices:
            action = ""
            if inv["Status"] == "AUTHORISED":
                action = (f"<form class='inline' method='post' action='/ledger/payments'>"
                          f"<input type='hidden' name='tenant_id' value='{tenant}'>"
                          f"<input type='hidden' name='invoice_id' value='{inv['InvoiceID']}'>"
                          f"<input name='amount' aria-label='Amount' value='{inv['AmountDue']}' inputmode='decimal'>"
                          f"<input name='date' aria-label='Date' type='date' value='{today}' style='width:130px'>"
                          f"<button type='submit'>Apply payment</button></form>")
            rows.append(
                f"<tr><td>{escape(inv.get('InvoiceNumber') or '—')}</td>"
                f"<td>{'Invoice' if inv['Type'] == 'ACCREC' else 'Bill'}</td>"
                f"<td>{escape(inv['Contact']['Name'])}</td><td>{escape(inv.get('Reference') or '')}</td>"
                f"<td><span class='status {inv['Status']}'>{inv['Status']}</span></td>"
                f"<td class='num'>{_money(inv['Total'])}</td><td class='num'>{_money(inv['AmountPaid'])}</td>"
                f"<td class='num'>{_money(inv['AmountDue'])}</td><td>{action}</td></tr>")
        contact_count = store.one("SELECT count(*) AS n FROM contacts WHERE tenant_id=?", (tenant,))["n"]
        contacts = [loads(r["doc"]) for r in store.query(
            "SELECT doc FROM contacts WHERE tenant_id=? ORDER BY updated_ms DESC LIMIT 100", (tenant,))]
        contact_rows = "".join(
            f"<tr><td>{escape(c['Name'])}</td><td>{escape(c.get('EmailAddress') or '')}</td>"
            f"<td>{'Customer' if c.get('IsCustomer') else ''}{' / ' if c.get('IsCustomer') and c.get('IsSupplier') else ''}"
            f"{'Supplier' if c.get('IsSupplier') else ''}</td><td>{c.get('ContactStatus')}</td></tr>" for c in contacts)
        parts.append(f"""
<section class='card' id='org-{tenant}'>
  <h2>{escape(org['name'])}</h2>
  <h3>Connected apps</h3><ul class='apps'>{app_rows}</ul>
  <h3>Invoices and bills</h3>
  <table><thead><tr><th>Number</th><th>Type</th><th>Contact</th><th>Reference</th><th>Status</th>
  <th class='num'>Total</th><th class='num'>Paid</th><th class='num'>Due</th><th></th></tr></thead>
  <tbody>{''.join(rows) or "<tr><td colspan='9' class='muted'>No invoices</td></tr>"}</tbody></table>
  <h3>Contacts <span class='muted'>({contact_count}; latest 100 shown)</span></h3>
  <table><thead><tr><th>Name</th><th>Email</th><th>Kind</th><th>Status</th></tr></thead><tbody>{contact_rows}</tbody></table>
</section>""")
    intro = ("<div class='card'><h1>Sandbox ledger</h1><p>Signed in as " + escape(sb_user()) +
             " (sandbox). This page plays the bookkeeper's Xero: apply payments here and watch Factory follow.</p></div>")
    return page("Xero sandbox ledger", intro + "".join(parts))
