"""The Xero adapter: Xero's calls (sign-in, tenants, the Accounting API).

Every Xero quirk stays in this folder: the tenant header, PUT-creates/POST-updates, the
rate-limit headers and the answers' classification (here), MS-JSON dates, wrapped bodies
and validation envelopes (mapping.py, pure), the webhooks' signature and shapes
(webhooks.py). OAuth2 and the HTTP client are the kit's (accounting/kit/). Base URLs are settings (XERO_IDENTITY_URL,
XERO_API_URL; factory_app/accounting/settings.py), so the same code talks to Xero or to
the sandbox. Nothing here logs a token.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Mapping

import requests

from ...base import (
    AccessTokenExpired, AccountingProvider, ApiSession, Authorisation, DisconnectResult, DocumentDraft, Page,
    PaymentState, ReconnectNeeded, Rejected, RemoteContact, RemoteOrganisation, RateLimited, RetriableError,
    TokenSet, Unreachable, WebhookEvent,
)
from ...kit import jsonmoney
from ...kit.http import JsonHttp, body_of, retry_after
from ...kit.oauth import OAuthClient
from ...settings import setting
from . import mapping, webhooks

# Xero apps created since 2 March 2026 must ask for granular scopes
# (accounting.invoices / accounting.payments instead of accounting.transactions).
DEFAULT_SCOPES = ("openid profile email offline_access accounting.contacts accounting.settings "
                  "accounting.invoices accounting.payments")
PAGE_SIZE = 1000


class XeroProvider(AccountingProvider):
    key = "xero"
    display_name = "Xero"
    calls_per_minute = 58  # Xero allows 60 per organisation; a margin for clock skew
    concurrent_calls = 5
    documents_per_call = 50  # Xero recommends at most 50 elements per POST

    def __init__(self, config: dict):
        def value(name: str, default=""):
            return setting(self.key, name, default, config)
        self.client_id = value("CLIENT_ID")
        self.client_secret = value("CLIENT_SECRET")
        self.identity_url = value("IDENTITY_URL", "https://identity.xero.com").rstrip("/")
        self.api_url = value("API_URL", "https://api.xero.com").rstrip("/")
        self.scopes = value("SCOPES", DEFAULT_SCOPES)
        self.timeout = float(value("HTTP_TIMEOUT", 20))
        self.app_name = value("APP_NAME", "Factory")
        self.webhook_key = value("WEBHOOK_KEY")
        self.sandbox_url = (config.get("SANDBOX_URL") or "").rstrip("/")
        self.http = JsonHttp(self.display_name, _classify, self.timeout)
        self.oauth = OAuthClient(self.http, client_id=self.client_id, client_secret=self.client_secret,
                                 scopes=self.scopes,
                                 discovery_url=f"{self.identity_url}/.well-known/openid-configuration")

    @classmethod
    def sandbox_settings(cls, url, client_id, client_secret, webhook_key, callback_url) -> dict[str, str]:
        """The sandbox's Xero face is at /xero: identity and API alike."""
        face = f"{url.rstrip('/')}/xero"
        return {"XERO_CLIENT_ID": client_id, "XERO_CLIENT_SECRET": client_secret, "XERO_WEBHOOK_KEY": webhook_key,
                "XERO_IDENTITY_URL": face, "XERO_API_URL": face, "XERO_REDIRECT_URI": callback_url}

    def webhook_events(self, headers, body: bytes) -> list[WebhookEvent] | None:
        return webhooks.events(self.webhook_key, headers, body)

    def is_configured(self) -> bool:
        return bool(self.client_id and self.client_secret)

    # --- identity -----------------------------------------------------------------------

    def authorisation(self, redirect_uri: str) -> Authorisation:
        return self.oauth.authorisation(redirect_uri)

    def exchange_code(self, code: str, redirect_uri: str, code_verifier: str | None) -> TokenSet:
        return self.oauth.exchange_code(code, redirect_uri, code_verifier)

    def refresh(self, refresh_token: str) -> TokenSet:
        return self.oauth.refresh(refresh_token)

    def organisations(self, access_token: str, callback: Mapping[str, str] | None = None) -> list[RemoteOrganisation]:
        # Xero sends no organisation to the callback: its connections endpoint lists the tenants granted
        rows = self.http.call("GET", f"{self.api_url}/connections", headers=self._headers(access_token))
        return [RemoteOrganisation(remote_id=row["tenantId"], name=row.get("tenantName") or row["tenantId"],
                                   connection_id=row.get("id"))
                for row in rows if row.get("tenantType", "ORGANISATION") == "ORGANISATION"]

    def probe(self, session) -> None:
        """GET /Organisation: one small record."""
        self._api("GET", session, "Organisation")

    def release_organisation(self, access_token, organisation) -> None:
        """DELETE /connections/{id}: the connection id, not the tenant id. Already gone is fine."""
        if not organisation.connection_id:
            return
        try:
            self.http.send("DELETE", f"{self.api_url}/connections/{organisation.connection_id}",
                           headers=self._headers(access_token))
        except ReconnectNeeded:
            pass  # 404: Xero no longer has it

    def disconnect(self, access_token, refresh_token, organisation) -> DisconnectResult:
        result = DisconnectResult(connection_removed=False, token_revoked=False)
        if access_token and organisation.connection_id:
            try:
                self.release_organisation(access_token, organisation)
                result.connection_removed = True
            except AccessTokenExpired:
                result.problems.append("Factory could not be removed from Xero's connected apps: "
                                       "Xero no longer accepted Factory's access token.")
            except (RetriableError, Rejected) as exc:
                result.problems.append(f"Factory could not be removed from Xero's connected apps: {exc.message}")
        if refresh_token:
            try:
                response = self.oauth.revoke(refresh_token,
                                             fallback_endpoint=f"{self.identity_url}/connect/revocation")
                result.token_revoked = response.status_code == 200
                if not result.token_revoked:
                    result.problems.append(f"Xero did not confirm that the access was revoked (HTTP {response.status_code}).")
            except (requests.RequestException, RetriableError, Rejected) as exc:
                message = exc.message if isinstance(exc, (RetriableError, Rejected)) else "Xero did not answer"
                result.problems.append(f"Factory's access could not be revoked at Xero: {message}")
        return result

    # --- the HTTP layer ---------------------------------------------------------------------

    def _headers(self, access_token: str, tenant_id: str | None = None, **extra) -> dict:
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json", **extra}
        if tenant_id:
            headers["xero-tenant-id"] = tenant_id
        return headers

    def _api(self, method: str, session: ApiSession, path: str, *, params=None, body=None,
             modified_since: datetime | None = None, idempotency_key: str | None = None) -> Any:
        extra = {}
        if modified_since:
            extra["If-Modified-Since"] = mapping.http_date(modified_since)
        if idempotency_key:
            extra["Idempotency-Key"] = idempotency_key[:128]
        if body is not None:
            extra["Content-Type"] = "application/json"
        data = jsonmoney.dumps(body) if body is not None else None
        return self.http.call(method, f"{self.api_url}/api.xro/2.0/{path}", params=params, data=data,
                              headers=self._headers(session.access_token, session.remote_org_id, **extra))

    # --- reads ----------------------------------------------------------------------------
    # Each record is read on its own: one that Xero sends in a shape its types don't allow
    # is left out of the page and reported in Page.failures; the rest of the page is kept.

    def contacts(self, session, page=None, modified_since=None, list_name=None) -> Page:
        """Xero's one contact list (customers and suppliers flagged on each). The cursor is
        the page number, as text."""
        page = int(page) if page and str(page).isdigit() and int(page) > 0 else 1
        data = self._api("GET", session, "Contacts", modified_since=modified_since, params={
            "page": page, "pageSize": PAGE_SIZE, "includeArchived": "true", "order": "UpdatedDateUTC ASC"})
        rows = mapping.listed(data, "Contacts")
        contacts, failures = mapping.read_each(rows, mapping.contact)
        pagination = data.get("pagination") or {}
        page_count = pagination.get("pageCount") if type(pagination) is dict else None
        if page_count is not None and type(page_count) is not int:
            raise RetriableError("Xero sent an unreadable answer (pageCount is not a whole number).")
        last = (page >= page_count) if page_count is not None else len(rows) < PAGE_SIZE
        bookmark = max((c.updated_at for c in contacts if c.updated_at), default=modified_since)
        # the pages after the next one, as far as the page count tells (no further than
        # Xero's calls at once)
        later = range(page + 2, min(page_count or 0, page + 1 + self.concurrent_calls) + 1)
        return Page(items=contacts, next_page=None if last else str(page + 1), bookmark=bookmark,
                    page_count=page_count, failures=failures, ahead=tuple(str(n) for n in later))

    def items(self, session, modified_since=None) -> Page:
        data = self._api("GET", session, "Items", modified_since=modified_since)
        items, failures = mapping.read_each(mapping.listed(data, "Items"), mapping.item)
        bookmark = max((i.updated_at for i in items if i.updated_at), default=modified_since)
        return Page(items=items, next_page=None, bookmark=bookmark, failures=failures)

    def accounts(self, session) -> Page:
        data = self._api("GET", session, "Accounts")
        accounts, failures = mapping.read_each(mapping.listed(data, "Accounts"), mapping.account)
        return Page(items=accounts, next_page=None, bookmark=None, failures=failures)

    def tax_rates(self, session) -> Page:
        data = self._api("GET", session, "TaxRates")
        rates, failures = mapping.read_each(mapping.listed(data, "TaxRates"), mapping.tax_rate)
        return Page(items=rates, next_page=None, bookmark=None, failures=failures)

    # --- writes ---------------------------------------------------------------------------

    def save_contact(self, session, contact, *, name, email=None, kind="customer", idempotency_key=None) -> RemoteContact:
        """One list for both kinds: Xero makes a contact a customer or a supplier by its documents."""
        body = {"Name": name}
        if email:
            body["EmailAddress"] = email
        if contact is not None:
            body["ContactID"] = contact.remote_id
        data = self._api("POST" if contact else "PUT", session, "Contacts", body={"Contacts": [body]},
                         idempotency_key=idempotency_key)
        return mapping.contact((data.get("Contacts") or [{}])[0])

    def save_document(self, session, draft: DocumentDraft, remote_id, idempotency_key) -> PaymentState:
        result = self.save_documents(session, [(draft, remote_id)], idempotency_key)[0]
        if isinstance(result, Rejected):
            raise result
        return result

    def save_documents(self, session, documents, idempotency_key) -> list[PaymentState | Rejected]:
        """New documents in one PUT /Invoices (create only: a number Xero already has is
        refused as taken, where POST would update that other invoice), updates in one POST
        /Invoices, each with summarizeErrors=false: Xero answers 200 with one element per
        invoice sent, in order, each either saved or carrying its ValidationErrors."""
        if not documents or len(documents) > self.documents_per_call:
            raise ValueError(f"1 to {self.documents_per_call} documents per request")
        results: list[PaymentState | Rejected | None] = [None] * len(documents)
        groups = [("PUT", [i for i, (_, r) in enumerate(documents) if r is None]),
                  ("POST", [i for i, (_, r) in enumerate(documents) if r is not None])]
        both = all(indexes for _, indexes in groups)
        for method, indexes in groups:
            if not indexes:
                continue
            data = self._api(method, session, "Invoices", params={"summarizeErrors": "false"},
                             body={"Invoices": [mapping.invoice_body(*documents[i]) for i in indexes]},
                             idempotency_key=f"{idempotency_key}-{method.lower()}" if both else idempotency_key)
            rows = mapping.listed(data, "Invoices")
            if len(rows) != len(indexes):
                raise RetriableError(f"Xero answered for {len(rows)} of {len(indexes)} invoices.")
            for i, row in zip(indexes, rows):
                results[i] = (mapping.element_rejection(row) if row.get("HasErrors") or row.get("ValidationErrors")
                              else mapping.payment_state(row))
        return results

    def payment_states(self, session, remote_ids, modified_since=None) -> Page:
        if not remote_ids:
            return Page(items=[], next_page=None, bookmark=None)
        data = self._api("GET", session, "Invoices", modified_since=modified_since,
                         params={"IDs": ",".join(remote_ids), "page": 1, "pageSize": len(remote_ids)})
        states, failures = mapping.read_each(mapping.listed(data, "Invoices"), mapping.payment_state)
        return Page(items=states, next_page=None, bookmark=None, failures=failures)

    def find_documents(self, session, drafts) -> list[PaymentState | None]:
        """Numbered drafts: one GET of those numbers (InvoiceNumbers=, up to 50), each
        counted only when it is of the draft's type and to its contact (an ACCPAY number
        may repeat). Drafts Xero numbers itself: the contact's invoices of that type,
        newest change first, matched by date, reference and amount (Xero keeps nothing
        else unique of them; the request's Idempotency-Key guards those too)."""
        found: list[PaymentState | None] = [None] * len(drafts)
        numbered = [(i, d) for i, d in enumerate(drafts) if d.number]
        for start in range(0, len(numbered), self.documents_per_call):
            chunk = numbered[start:start + self.documents_per_call]
            data = self._api("GET", session, "Invoices", params={
                "InvoiceNumbers": ",".join(d.number for _, d in chunk), "page": 1, "pageSize": 1000})
            rows = [row for row in mapping.listed(data, "Invoices") if isinstance(row, dict)]
            for i, draft in chunk:
                row = next((r for r in rows if r.get("InvoiceNumber") == draft.number and mapping.same_document(r, draft)), None)
                found[i] = mapping.payment_state(row) if row is not None else None
        for i, draft in enumerate(drafts):
            if draft.number:
                continue
            data = self._api("GET", session, "Invoices", params={
                "ContactIDs": draft.contact_remote_id, "where": f'Type=="{mapping.type_code(draft)}"',
                "order": "UpdatedDateUTC DESC", "page": 1, "pageSize": 100})
            subtotal = sum((l.line_amount for l in draft.lines), Decimal("0"))
            row = next((r for r in mapping.listed(data, "Invoices") if isinstance(r, dict) and mapping.same_document(r, draft)
                        and (r.get("Reference") or None) == (draft.reference or None)
                        and mapping.day(r.get("Date")) == draft.issue_date
                        and mapping.money(r.get("SubTotal")) == subtotal), None)
            found[i] = mapping.payment_state(row) if row is not None else None
        return found

    def propose_mapping(self, accounts, tax_rates, default_rate) -> dict[str, str]:
        """Xero's standard chart and tax types: 200 Sales and 300 Purchases (else the one
        account of the type, if only one), GST on Income / on Expenses at the default
        rate and the GST-free types (Australia; OUTPUT2/INPUT2 elsewhere, else the one
        rate of the side at that rate)."""
        proposal = {}
        for field, codes, types in (("sales_account_code", ("200",), ("REVENUE", "SALES")),
                                    ("purchase_account_code", ("300", "310"), ("DIRECTCOSTS",))):
            fitting = [a for a in accounts if a.kind in types and not a.archived and a.code]
            chosen = next((a.code for code in codes for a in fitting if a.code == code), None)
            proposal[field] = chosen or (fitting[0].code if len(fitting) == 1 else None)
        zero = Decimal("0")
        for field, side, rate, codes in (
                ("sales_tax_taxable", "sales", default_rate, ("OUTPUT", "OUTPUT2", "OUTPUT3")),
                ("sales_tax_free", "sales", zero, ("EXEMPTOUTPUT", "ZERORATEDOUTPUT", "NONE")),
                ("purchase_tax_taxable", "purchases", default_rate, ("INPUT", "INPUT2", "INPUT3")),
                ("purchase_tax_free", "purchases", zero, ("EXEMPTEXPENSES", "ZERORATEDINPUT", "NONE"))):
            fitting = [t for t in tax_rates if not t.archived and t.rate == rate
                       and (t.applies_to_sales if side == "sales" else t.applies_to_purchases)]
            chosen = next((t.code for code in codes for t in fitting if t.code == code), None)
            proposal[field] = chosen or (fitting[0].code if len(fitting) == 1 else None)
        return {field: code for field, code in proposal.items() if code}

    def document_url(self, kind, remote_id) -> str | None:
        if self.sandbox_url:
            return f"{self.sandbox_url}/ledger#invoice-{remote_id}"
        section = "AccountsReceivable" if kind == "sales_invoice" else "AccountsPayable"
        return f"https://go.xero.com/{section}/View.aspx?InvoiceID={remote_id}"

    def payment_state(self, session, remote_id) -> PaymentState:
        data = self._api("GET", session, f"Invoices/{remote_id}")
        return mapping.payment_state((mapping.listed(data, "Invoices") or [{}])[0])  # MalformedRecord when unreadable


def _classify(response: requests.Response, url: str) -> None:
    """Every answer of Xero's, as the interface's error (or nothing, for a good one)."""
    status = response.status_code
    if status < 400:
        return
    if status == 429:
        problem = response.headers.get("X-Rate-Limit-Problem", "rate")
        raise RateLimited(f"Xero's {problem} limit was reached.",
                          retry_after=retry_after(response.headers.get("Retry-After")))
    if status >= 500:
        raise Unreachable(f"Xero had a problem (HTTP {status}).",
                          retry_after=retry_after(response.headers.get("Retry-After")))
    if status == 401:
        raise AccessTokenExpired(mapping.problem_text(body_of(response)) or "Xero refused the access token.")
    if status == 403:
        raise ReconnectNeeded(mapping.problem_text(body_of(response)) or "Xero no longer accepts this connection.")
    if status == 404 and "/connections/" in url:
        raise ReconnectNeeded("The connection no longer exists in Xero.")
    raise Rejected(*mapping.validation_messages(body_of(response), status))
