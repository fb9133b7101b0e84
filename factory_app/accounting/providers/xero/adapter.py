"""The Xero adapter: OAuth2 (Authlib, PKCE), tenants, and the Accounting API.

Every Xero quirk stays in this folder: MS-JSON dates, wrapped bodies, the tenant header,
PUT-creates/POST-updates, rate-limit headers, validation envelopes (here), the webhooks'
signature and shapes (webhooks.py). Base URLs are settings (XERO_IDENTITY_URL,
XERO_API_URL; factory_app/accounting/settings.py), so the same code talks to Xero or to
the sandbox. Nothing here logs a token.
"""
from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Mapping

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from ...base import (
    AccessTokenExpired, AccountingProvider, ApiSession, Authorisation, DisconnectResult, DocumentDraft, Page,
    PaymentState, ReconnectNeeded, RecordProblem, Rejected, RemoteAccount, RemoteAddress, RemoteContact,
    RemoteItem, RemoteOrganisation, RemotePerson, RemoteTaxRate, RateLimited, RetriableError, TokenSet, Unreachable,
    WebhookEvent,
)
from ...settings import setting
from . import webhooks

# Xero apps created since 2 March 2026 must ask for granular scopes
# (accounting.invoices / accounting.payments instead of accounting.transactions).
DEFAULT_SCOPES = ("openid profile email offline_access accounting.contacts accounting.settings "
                  "accounting.invoices accounting.payments")
PAGE_SIZE = 1000
_DISCOVERY_CACHE: dict[str, tuple[float, dict]] = {}
_MS_DATE = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/")


def parse_xero_datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    if value[-7:] == "+0000)/" and value[:6] == "/Date(":  # how Xero writes every time: read without the regex
        digits = value[6:-7]
        if digits.isdecimal():  # what the regex's \d+ takes
            return datetime.fromtimestamp(int(digits) / 1000, timezone.utc)
    match = _MS_DATE.match(value)
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=timezone.utc)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _http_date(moment: datetime) -> str:
    """If-Modified-Since as the spec types it: an RFC 3339 date-time, in UTC."""
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


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

    def webhook_events(self, headers, body: bytes) -> list[WebhookEvent] | None:
        return webhooks.events(self.webhook_key, headers, body)

    def is_configured(self) -> bool:
        return bool(self.client_id and self.client_secret)

    # --- identity -----------------------------------------------------------------------

    def _metadata(self) -> dict:
        """The identity server's OpenID configuration (cached for an hour)."""
        url = f"{self.identity_url}/.well-known/openid-configuration"
        cached = _DISCOVERY_CACHE.get(url)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        response = self._send(requests.get, url, timeout=self.timeout)
        metadata = self._json(response)
        _DISCOVERY_CACHE[url] = (time.monotonic() + 3600, metadata)
        return metadata

    def _oauth(self, redirect_uri: str | None = None, **kwargs) -> OAuth2Session:
        return OAuth2Session(self.client_id, self.client_secret, scope=self.scopes,
                             redirect_uri=redirect_uri, code_challenge_method="S256",
                             token_endpoint_auth_method="client_secret_basic",
                             revocation_endpoint_auth_method="client_secret_basic", **kwargs)

    def authorisation(self, redirect_uri: str) -> Authorisation:
        metadata = self._metadata()
        verifier = generate_token(64)
        state = generate_token(32)
        url, _ = self._oauth(redirect_uri).create_authorization_url(
            metadata["authorization_endpoint"], state=state, code_verifier=verifier)
        return Authorisation(url=url, state=state, code_verifier=verifier)

    def _token_call(self, call) -> TokenSet:
        try:
            token = call()
        except OAuthError as exc:
            if exc.error in ("invalid_grant", "unauthorized_client", "invalid_client"):
                raise ReconnectNeeded(f"Xero refused the authorisation ({exc.error}). "
                                      "Connect to Xero again.") from exc
            raise Rejected(f"Xero refused the sign-in: {exc.description or exc.error}") from exc
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise Unreachable("Xero's sign-in service did not answer. Try again in a moment.") from exc
        except ValueError as exc:  # not JSON
            raise RetriableError("Xero's sign-in service sent an unreadable answer.") from exc
        if not token.get("access_token") or not token.get("refresh_token"):
            raise Rejected("Xero did not grant offline access; allow it to keep the connection.")
        expires_in = int(token.get("expires_in") or 1800)
        return TokenSet(access_token=token["access_token"], refresh_token=token["refresh_token"],
                        expires_at=datetime.now(timezone.utc) + timedelta(seconds=expires_in),
                        scope=token.get("scope", ""))

    def exchange_code(self, code: str, redirect_uri: str, code_verifier: str | None) -> TokenSet:
        endpoint = self._metadata()["token_endpoint"]
        session = self._oauth(redirect_uri)
        return self._token_call(lambda: session.fetch_token(
            endpoint, grant_type="authorization_code", code=code, code_verifier=code_verifier,
            timeout=self.timeout))

    def refresh(self, refresh_token: str) -> TokenSet:
        endpoint = self._metadata()["token_endpoint"]
        session = self._oauth()
        return self._token_call(lambda: session.refresh_token(
            endpoint, refresh_token=refresh_token, timeout=self.timeout))

    def organisations(self, access_token: str, callback: Mapping[str, str] | None = None) -> list[RemoteOrganisation]:
        # Xero sends no organisation to the callback: its connections endpoint lists the tenants granted
        response = self._send(requests.get, f"{self.api_url}/connections", timeout=self.timeout,
                              headers=self._headers(access_token))
        rows = self._json(response)
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
            self._send(requests.delete, f"{self.api_url}/connections/{organisation.connection_id}",
                       timeout=self.timeout, headers=self._headers(access_token))
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
                endpoint = self._metadata().get("revocation_endpoint") or f"{self.identity_url}/connect/revocation"
                response = self._oauth().revoke_token(endpoint, token=refresh_token,
                                                      token_type_hint="refresh_token", timeout=self.timeout)
                result.token_revoked = response.status_code == 200
                if not result.token_revoked:
                    result.problems.append(f"Xero did not confirm that the access was revoked (HTTP {response.status_code}).")
            except (requests.RequestException, RetriableError, Rejected) as exc:
                message = exc.message if isinstance(exc, (RetriableError, Rejected)) else "Xero did not answer"
                result.problems.append(f"Factory's access could not be revoked at Xero: {message}")
        return result

    # --- the HTTP layer: every response is classified here --------------------------------

    def _headers(self, access_token: str, tenant_id: str | None = None, **extra) -> dict:
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json", **extra}
        if tenant_id:
            headers["xero-tenant-id"] = tenant_id
        return headers

    def _send(self, method, url: str, **kwargs) -> requests.Response:
        try:
            response = method(url, **kwargs)
        except requests.Timeout as exc:
            raise Unreachable("Xero did not answer in time.") from exc
        except requests.ConnectionError as exc:
            raise Unreachable("Xero could not be reached.") from exc
        status = response.status_code
        if status == 429:
            problem = response.headers.get("X-Rate-Limit-Problem", "rate")
            raise RateLimited(f"Xero's {problem} limit was reached.",
                              retry_after=_retry_after(response.headers.get("Retry-After")))
        if status >= 500:
            raise Unreachable(f"Xero had a problem (HTTP {status}).",
                                 retry_after=_retry_after(response.headers.get("Retry-After")))
        if status == 401:
            raise AccessTokenExpired(_problem_text(response) or "Xero refused the access token.")
        if status == 403:
            raise ReconnectNeeded(_problem_text(response) or "Xero no longer accepts this connection.")
        if status == 404 and "/connections/" in url:
            raise ReconnectNeeded("The connection no longer exists in Xero.")
        if status >= 400:
            raise Rejected(*_validation_messages(response))
        return response

    @staticmethod
    def _json(response: requests.Response) -> Any:
        try:
            return json.loads(response.content or b"null", parse_float=Decimal)
        except ValueError as exc:
            raise RetriableError("Xero sent an unreadable answer.") from exc

    def _api(self, method: str, session: ApiSession, path: str, *, params=None, body=None,
             modified_since: datetime | None = None, idempotency_key: str | None = None) -> Any:
        extra = {}
        if modified_since:
            extra["If-Modified-Since"] = _http_date(modified_since)
        if idempotency_key:
            extra["Idempotency-Key"] = idempotency_key[:128]
        if body is not None:
            extra["Content-Type"] = "application/json"
        data = json.dumps(body, default=_json_default) if body is not None else None
        response = self._send(getattr(requests, method.lower()), f"{self.api_url}/api.xro/2.0/{path}",
                              params=params, data=data, timeout=self.timeout,
                              headers=self._headers(session.access_token, session.remote_org_id, **extra))
        return self._json(response)

    # --- reads ----------------------------------------------------------------------------
    # Each record is read on its own: one that Xero sends in a shape its types don't allow
    # is left out of the page and reported in Page.failures; the rest of the page is kept.

    def contacts(self, session, page=1, modified_since=None) -> Page:
        data = self._api("GET", session, "Contacts", modified_since=modified_since, params={
            "page": page, "pageSize": PAGE_SIZE, "includeArchived": "true", "order": "UpdatedDateUTC ASC"})
        rows = _listed(data, "Contacts")
        contacts, failures = _read_each(rows, _contact)
        pagination = data.get("pagination") or {}
        page_count = pagination.get("pageCount") if type(pagination) is dict else None
        if page_count is not None and type(page_count) is not int:
            raise RetriableError("Xero sent an unreadable answer (pageCount is not a whole number).")
        last = (page >= page_count) if page_count is not None else len(rows) < PAGE_SIZE
        bookmark = max((c.updated_at for c in contacts if c.updated_at), default=modified_since)
        return Page(items=contacts, next_page=None if last else page + 1, bookmark=bookmark,
                    page_count=page_count, failures=failures)

    def items(self, session, modified_since=None) -> Page:
        data = self._api("GET", session, "Items", modified_since=modified_since)
        items, failures = _read_each(_listed(data, "Items"), _item)
        bookmark = max((i.updated_at for i in items if i.updated_at), default=modified_since)
        return Page(items=items, next_page=None, bookmark=bookmark, failures=failures)

    def accounts(self, session) -> Page:
        data = self._api("GET", session, "Accounts")
        accounts, failures = _read_each(_listed(data, "Accounts"), _account)
        return Page(items=accounts, next_page=None, bookmark=None, failures=failures)

    def tax_rates(self, session) -> Page:
        data = self._api("GET", session, "TaxRates")
        rates, failures = _read_each(_listed(data, "TaxRates"), _tax_rate)
        return Page(items=rates, next_page=None, bookmark=None, failures=failures)

    # --- writes ---------------------------------------------------------------------------

    def save_contact(self, session, contact, *, name, email=None, idempotency_key=None) -> RemoteContact:
        body = {"Name": name}
        if email:
            body["EmailAddress"] = email
        if contact is not None:
            body["ContactID"] = contact.remote_id
        data = self._api("POST" if contact else "PUT", session, "Contacts", body={"Contacts": [body]},
                         idempotency_key=idempotency_key)
        return _contact((data.get("Contacts") or [{}])[0])

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
                             body={"Invoices": [_invoice_body(*documents[i]) for i in indexes]},
                             idempotency_key=f"{idempotency_key}-{method.lower()}" if both else idempotency_key)
            rows = _listed(data, "Invoices")
            if len(rows) != len(indexes):
                raise RetriableError(f"Xero answered for {len(rows)} of {len(indexes)} invoices.")
            for i, row in zip(indexes, rows):
                results[i] = (_element_rejection(row) if row.get("HasErrors") or row.get("ValidationErrors")
                              else _payment_state(row))
        return results

    def payment_states(self, session, remote_ids, modified_since=None) -> Page:
        if not remote_ids:
            return Page(items=[], next_page=None, bookmark=None)
        data = self._api("GET", session, "Invoices", modified_since=modified_since,
                         params={"IDs": ",".join(remote_ids), "page": 1, "pageSize": len(remote_ids)})
        states, failures = _read_each(_listed(data, "Invoices"), _payment_state)
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
            rows = [row for row in _listed(data, "Invoices") if isinstance(row, dict)]
            for i, draft in chunk:
                row = next((r for r in rows if r.get("InvoiceNumber") == draft.number and _same_document(r, draft)), None)
                found[i] = _payment_state(row) if row is not None else None
        for i, draft in enumerate(drafts):
            if draft.number:
                continue
            data = self._api("GET", session, "Invoices", params={
                "ContactIDs": draft.contact_remote_id, "where": f'Type=="{_type_code(draft)}"',
                "order": "UpdatedDateUTC DESC", "page": 1, "pageSize": 100})
            subtotal = sum((l.line_amount for l in draft.lines), Decimal("0"))
            row = next((r for r in _listed(data, "Invoices") if isinstance(r, dict) and _same_document(r, draft)
                        and (r.get("Reference") or None) == (draft.reference or None)
                        and _day(r.get("Date")) == draft.issue_date
                        and _money(r.get("SubTotal")) == subtotal), None)
            found[i] = _payment_state(row) if row is not None else None
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
        return _payment_state((_listed(data, "Invoices") or [{}])[0])  # MalformedRecord when unreadable


# --- mapping helpers ------------------------------------------------------------------

def _type_code(draft: DocumentDraft) -> str:
    return "ACCREC" if draft.kind == "sales_invoice" else "ACCPAY"


def _same_document(row: dict, draft: DocumentDraft) -> bool:
    """A listed invoice could be this draft's: same type, same contact, not deleted or voided."""
    return (row.get("Type") == _type_code(draft) and row.get("Status") not in ("DELETED", "VOIDED")
            and (row.get("Contact") or {}).get("ContactID") == draft.contact_remote_id)


def _day(value):
    moment = parse_xero_datetime(value) if isinstance(value, str) else None
    return moment.date() if moment else None


def _invoice_body(draft: DocumentDraft, remote_id: str | None) -> dict:
    body = {
        "Type": _type_code(draft),
        "Contact": {"ContactID": draft.contact_remote_id},
        "Date": draft.issue_date.isoformat(), "DueDate": draft.due_date.isoformat(),
        "LineAmountTypes": "Exclusive", "CurrencyCode": draft.currency,
        "LineItems": [{
            "Description": l.description, "Quantity": l.quantity, "UnitAmount": l.unit_price,
            "DiscountRate": l.discount_percent, "LineAmount": l.line_amount,
            **({"TaxType": l.tax_code} if l.tax_code else {}),
            **({"AccountCode": l.account_code} if l.account_code else {}),
            **({"ItemCode": l.item_code} if l.item_code else {}),
        } for l in draft.lines],
    }
    if draft.approved is not None:  # None: an update leaves the status Xero holds
        body["Status"] = "AUTHORISED" if draft.approved else "DRAFT"
    if draft.number:
        body["InvoiceNumber"] = draft.number
    if draft.reference or remote_id:  # an update may clear it
        body["Reference"] = draft.reference or ""
    if remote_id:
        body["InvoiceID"] = remote_id
    return body


def _json_default(value):
    """Decimals go out as JSON numbers (the spec's type). Up to 15 significant digits a
    float's shortest repr is exactly the decimal's digits, and Factory's limits keep
    amounts well inside that."""
    if isinstance(value, Decimal):
        if len(value.normalize().as_tuple().digits) > 15:
            raise ValueError(f"{value} has too many digits to send exactly")
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value)}")


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _problem_text(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    if isinstance(data, dict):
        return str(data.get("Detail") or data.get("detail") or data.get("Message") or data.get("Title") or "")
    return ""


def _element_rejection(element: dict) -> Rejected:
    message, details = _element_messages(element)
    taken = any("must be unique" in m and "Invoice" in m for m in details)
    return Rejected(message, details, reason=Rejected.DUPLICATE_NUMBER if taken else None)


def _element_messages(element: dict) -> tuple[str, list[str]]:
    messages = [e.get("Message", "") for e in element.get("ValidationErrors") or [] if e.get("Message")]
    return (messages[0] if messages else "Xero refused the request."), messages


def _validation_messages(response: requests.Response) -> tuple[str, list[str]]:
    try:
        data = response.json()
    except ValueError:
        return f"Xero refused the request (HTTP {response.status_code}).", []
    messages: list[str] = []
    if isinstance(data, dict):
        for element in data.get("Elements") or []:
            messages.extend(_element_messages(element)[1])
        if not messages and data.get("Message"):
            messages.append(str(data["Message"]))
        if not messages and data.get("Detail"):
            messages.append(str(data["Detail"]))
    return (messages[0] if messages else f"Xero refused the request (HTTP {response.status_code})."), messages


# --- reading records ------------------------------------------------------------------
# What Xero sends is read strictly: every value Factory takes must have the type Xero's
# own schema gives it (text, true/false, a number, a date). A record that has another
# shape is not read at all: MalformedRecord says which value is wrong, and a list read
# leaves the record out of its page (Page.failures) instead of stopping. Nothing is
# coerced (`Name: 123` is a malformed contact, not one named "123").

class MalformedRecord(RetriableError):
    """A record in a shape Xero's types don't allow. A list read reports it in its page's
    failures and goes on; reading a single record (or a write's answer) raises it: worth
    trying again later, when it may have been mended in Xero (and a write that got this
    answer may have been applied)."""

    def __init__(self, noun: str, problem: RecordProblem):
        super().__init__(f"Xero sent this {noun} in a shape Factory can't read ({problem.reason}).")
        self.problem = problem


class _Unreadable(ValueError):
    """Raised by the fast reading of a contact; why is worked out afterwards."""


# what a wrong value in a record can raise while it is read
_SHAPE_ERRORS = (_Unreadable, AttributeError, TypeError, ValueError, KeyError, IndexError, ArithmeticError,
                 OSError)
TEXT, FLAG, NUMBER, DATE = "text", "true or false", "a number", "a date"
_IS = {
    TEXT: lambda v: type(v) is str,
    FLAG: lambda v: type(v) is bool,
    NUMBER: lambda v: type(v) is int or (type(v) in (Decimal, float) and Decimal(v).is_finite()),  # not NaN
    DATE: lambda v: type(v) is str and (not v or _reads_as_date(v)),
}

# The records' shapes, as far as Factory reads them: {field: kind, or (what one entry of a
# list is, its shape), or a nested object's shape}; the fields a record must have.
PHONE = {"PhoneType": TEXT, "PhoneNumber": TEXT, "PhoneAreaCode": TEXT, "PhoneCountryCode": TEXT}
ADDRESS_LINES = ("AddressLine1", "AddressLine2", "AddressLine3", "AddressLine4")
ADDRESS = {"AddressType": TEXT, **dict.fromkeys(ADDRESS_LINES, TEXT), "City": TEXT, "Region": TEXT,
           "PostalCode": TEXT, "Country": TEXT}
PERSON = {"FirstName": TEXT, "LastName": TEXT, "EmailAddress": TEXT}
CONTACT = {"ContactID": TEXT, "Name": TEXT, "EmailAddress": TEXT, "Website": TEXT, "TaxNumber": TEXT,
           "ContactStatus": TEXT, "IsCustomer": FLAG, "IsSupplier": FLAG, "UpdatedDateUTC": DATE,
           "Phones": ("a phone", PHONE), "Addresses": ("an address", ADDRESS),
           "ContactPersons": ("a contact person", PERSON)}
ITEM_DETAILS = {"UnitPrice": NUMBER, "AccountCode": TEXT, "TaxType": TEXT}
ITEM = {"ItemID": TEXT, "Code": TEXT, "Name": TEXT, "Description": TEXT, "UpdatedDateUTC": DATE,
        "SalesDetails": ITEM_DETAILS, "PurchaseDetails": ITEM_DETAILS}
ACCOUNT = {"AccountID": TEXT, "Code": TEXT, "Name": TEXT, "Type": TEXT, "Status": TEXT}
TAX_RATE = {"TaxType": TEXT, "Name": TEXT, "Status": TEXT, "EffectiveRate": NUMBER, "DisplayTaxRate": NUMBER,
            "CanApplyToRevenue": FLAG, "CanApplyToExpenses": FLAG}
INVOICE = {"InvoiceID": TEXT, "InvoiceNumber": TEXT, "Status": TEXT, "Total": NUMBER, "AmountPaid": NUMBER,
           "AmountDue": NUMBER, "Payments": ("a payment", {"Date": DATE})}


def _reads_as_date(value: str) -> bool:
    try:
        return parse_xero_datetime(value) is not None
    except (ValueError, OverflowError, OSError):
        return False


def _shape_problem(row, shape: dict, required: tuple = (), whose: str = "") -> str | None:
    """What is wrong with this record (or part of one) for this shape, in a few words; None
    if nothing is. `whose`: where a nested part sits, for the words (" of an address")."""
    for field in required:
        if row.get(field) in (None, ""):
            return f"{field} is missing"
    for field, kind in shape.items():
        value = row.get(field)
        if value is None:
            continue
        if type(kind) is tuple:
            entry_noun, entry_shape = kind
            if type(value) is not list:
                return f"{field}{whose} is not a list"
            for entry in value:
                problem = (f"{field}{whose} holds something that is not {entry_noun}" if type(entry) is not dict
                           else _shape_problem(entry, entry_shape, whose=f" of {entry_noun}"))
                if problem:
                    return problem
        elif type(kind) is dict:
            if type(value) is not dict:
                return f"{field}{whose} is not an object"
            problem = _shape_problem(value, kind, whose=f" of {field}")
            if problem:
                return problem
        elif not _IS[kind](value):
            return f"{field}{whose} is not {kind}"
    return None


def _reason(row, shape: dict, required: tuple) -> str | None:
    return _shape_problem(row, shape, required) if type(row) is dict else "it is not an object"


def _malformed(noun: str, row, id_field: str, name_field: str, reason: str | None) -> MalformedRecord:
    """The error for an unreadable record, naming it as far as its id and name are text."""
    remote_id = name = None
    if type(row) is dict:
        remote_id, name = row.get(id_field), row.get(name_field)
        if remote_id is not None and type(remote_id) is not str:
            remote_id = repr(remote_id)[:40]  # shown in the log as it came, cut short
    return MalformedRecord(noun, RecordProblem(
        remote_id[:100] if remote_id else None, name if type(name) is str else None,
        reason or "a value Factory reads is not of the type Xero's schema gives it"))


def _check(noun: str, row, shape: dict, required: tuple, id_field: str, name_field: str) -> None:
    """MalformedRecord unless the row has this shape (for records read a few hundred at a time)."""
    reason = _reason(row, shape, required)
    if reason:
        raise _malformed(noun, row, id_field, name_field, reason)


def _read_each(rows: list, read) -> tuple[list, list[RecordProblem]]:
    """Each row read on its own: (the records read, the problems of those that could not be)."""
    records, failures = [], []
    append = records.append
    for row in rows:
        try:
            append(read(row))
        except MalformedRecord as exc:
            failures.append(exc.problem)
    return records, failures


def _listed(data, field: str) -> list:
    """The list of records in an answer's envelope ({"Contacts": [...]})."""
    if type(data) is not dict:
        raise RetriableError("Xero sent an unreadable answer (not an object).")
    rows = data.get(field)
    if rows is not None and type(rows) is not list:
        raise RetriableError(f"Xero sent an unreadable answer ({field} is not a list).")
    return rows or []


def _money(value) -> Decimal:
    return Decimal(value) if type(value) is not float else Decimal(str(value))


def _optional_money(value):
    return _money(value) if value is not None else None


def _item(row: dict) -> RemoteItem:
    _check("item", row, ITEM, ("ItemID", "Code"), "ItemID", "Name")
    sales, purchase = row.get("SalesDetails") or {}, row.get("PurchaseDetails") or {}
    return RemoteItem(
        remote_id=row["ItemID"], code=row["Code"], name=row.get("Name"), description=row.get("Description"),
        sale_price=_optional_money(sales.get("UnitPrice")), purchase_cost=_optional_money(purchase.get("UnitPrice")),
        updated_at=parse_xero_datetime(row.get("UpdatedDateUTC")),
        sales_account_code=sales.get("AccountCode") or None, sales_tax_type=sales.get("TaxType") or None,
        purchase_account_code=purchase.get("AccountCode") or None,
        purchase_tax_type=purchase.get("TaxType") or None)


def _account(row: dict) -> RemoteAccount:
    _check("account", row, ACCOUNT, ("AccountID",), "AccountID", "Name")
    return RemoteAccount(remote_id=row["AccountID"], code=row.get("Code"), name=row.get("Name") or "",
                         kind=row.get("Type") or "", archived=row.get("Status") != "ACTIVE")


def _tax_rate(row: dict) -> RemoteTaxRate:
    _check("tax rate", row, TAX_RATE, ("TaxType",), "TaxType", "Name")
    rate = row.get("EffectiveRate")
    if rate is None:
        rate = row.get("DisplayTaxRate")
    if rate is None:  # never read as 0 %: a sales tax left out of an invoice
        raise _malformed("tax rate", row, "TaxType", "Name", "EffectiveRate is missing")
    return RemoteTaxRate(code=row["TaxType"], name=row.get("Name") or "", rate=_money(rate),
                         archived=row.get("Status") != "ACTIVE",
                         applies_to_sales=row.get("CanApplyToRevenue") is not False,
                         applies_to_purchases=row.get("CanApplyToExpenses") is not False)


PHONE_ORDER = ("DEFAULT", "MOBILE", "DDI")


def _phone_text(phone: dict) -> str:
    """Area code and number as people write them locally; the country code only when
    there is no area code."""
    number = (phone.get("PhoneNumber") or "").strip()
    if not number:
        return ""
    area, country = (phone.get("PhoneAreaCode") or "").strip(), (phone.get("PhoneCountryCode") or "").strip()
    if number.startswith(("0", "+", "1")):  # already complete (trunk prefix, international, 13/1300/1800)
        return number
    if area:
        return f"{area} {number}"
    return f"+{country.lstrip('+')} {number}" if country else number


ADDRESS_KINDS = {"POBOX": "postal", "STREET": "street"}


def _contact(row: dict) -> RemoteContact:
    # Called for every contact of every page (tens of thousands per import): written for
    # speed, on the read-ahead thread; the same result as the plain reading. A value of
    # the wrong type raises on its way (a method it lacks, a join, or the type checks
    # below, on the values that would otherwise go through as they came); only then is
    # the record looked at again (_shape_problem) to say what is wrong with it.
    try:
        get = row.get
        contact_id, name, email, website, tax_number = (get("ContactID"), get("Name"), get("EmailAddress"),
                                                        get("Website"), get("TaxNumber"))
        status, customer, supplier = get("ContactStatus"), get("IsCustomer"), get("IsSupplier")
        if (type(contact_id) is not str or not contact_id
                or (type(name) is not str and name is not None) or (type(email) is not str and email is not None)
                or (type(website) is not str and website is not None)
                or (type(tax_number) is not str and tax_number is not None)
                or (type(status) is not str and status is not None)
                or (type(customer) is not bool and customer is not None)
                or (type(supplier) is not bool and supplier is not None)):
            raise _Unreadable
        phone = None
        phones = get("Phones")
        if phones:  # a non-empty value that is not a list of objects raises below
            found = {}
            for entry in phones:
                if entry.get("PhoneNumber"):  # most of Xero's four phone slots are empty
                    text = _phone_text(entry)
                    if text:
                        found[entry.get("PhoneType")] = text
            if found:
                phone = next((found[kind] for kind in PHONE_ORDER if kind in found), None)
        elif phones is not None and type(phones) is not list:  # {}, "", 0, false
            raise _Unreadable
        addresses = []
        places = get("Addresses")
        if places:
            for address in places:
                kind = ADDRESS_KINDS.get(address.get("AddressType"))
                if not kind:
                    continue
                line = address.get
                lines = [text for text in (line("AddressLine1"), line("AddressLine2"), line("AddressLine3"),
                                           line("AddressLine4")) if text]
                first = lines[0] if lines else None
                rest = ", ".join(lines[1:]) or None if len(lines) > 1 else None  # the join checks their type
                city, region, postcode, country = line("City"), line("Region"), line("PostalCode"), line("Country")
                if ((type(first) is not str and first is not None) or (type(city) is not str and city is not None)
                        or (type(region) is not str and region is not None)
                        or (type(postcode) is not str and postcode is not None)
                        or (type(country) is not str and country is not None)):
                    raise _Unreadable
                if first or rest or city or region or postcode or country:
                    addresses.append(RemoteAddress(kind, first, rest, city, region, postcode, country))
        elif places is not None and type(places) is not list:
            raise _Unreadable
        people = ()
        persons = get("ContactPersons")
        if persons:
            found = []
            for person in persons:
                first_name, last_name = person.get("FirstName"), person.get("LastName")
                if first_name or last_name:
                    person_email = person.get("EmailAddress")
                    if type(person_email) is not str and person_email is not None:
                        raise _Unreadable
                    found.append(RemotePerson(" ".join(p for p in (first_name, last_name) if p), person_email))
            people = tuple(found)
        elif persons is not None and type(persons) is not list:
            raise _Unreadable
        updated = get("UpdatedDateUTC")
        updated_at = parse_xero_datetime(updated) if updated else None  # raises for what is not text
        if updated_at is None and updated is not None and updated != "":
            raise _Unreadable
        return RemoteContact(contact_id, name or "", email or None, phone, website or None, tax_number or None,
                             customer is True, supplier is True, status == "ARCHIVED", tuple(addresses), people,
                             updated_at)
    except _SHAPE_ERRORS:
        raise _malformed("contact", row, "ContactID", "Name", _reason(row, CONTACT, ("ContactID",))) from None


def _payment_state(row: dict) -> PaymentState:
    _check("invoice", row, INVOICE, ("InvoiceID", "Total", "AmountPaid", "AmountDue"), "InvoiceID", "InvoiceNumber")
    dates = [parse_xero_datetime(p["Date"]) for p in row.get("Payments") or () if p.get("Date")]
    return PaymentState(remote_id=row["InvoiceID"], number=row.get("InvoiceNumber"),
                        status=row.get("Status") or "", total=_money(row["Total"]),
                        amount_paid=_money(row["AmountPaid"]), amount_due=_money(row["AmountDue"]),
                        last_payment_date=max(dates, default=None))
