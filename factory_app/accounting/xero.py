"""The Xero adapter: OAuth2 (Authlib, PKCE), tenants, and the Accounting API.

Every Xero quirk stays in this file: MS-JSON dates, wrapped bodies, the tenant header,
PUT-creates/POST-updates, rate-limit headers, validation envelopes. Base URLs come from
config (XERO_IDENTITY_URL, XERO_API_URL), so the same code talks to Xero or to the
sandbox. Nothing here logs a token.
"""
from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from .base import (
    AccessTokenExpired, AccountingProvider, ApiSession, Authorisation, DisconnectResult, DocumentDraft, Page,
    PaymentState, ReconnectNeeded, Rejected, RemoteAccount, RemoteAddress, RemoteContact,
    RemoteItem, RemoteOrganisation, RemotePerson, RemoteTaxRate, RateLimited, RetriableError, TokenSet,
)

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


def _money(value) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal("0")


class XeroProvider(AccountingProvider):
    key = "xero"
    display_name = "Xero"
    calls_per_minute = 58  # Xero allows 60 per organisation; a margin for clock skew
    concurrent_calls = 5
    documents_per_call = 50  # Xero recommends at most 50 elements per POST

    def __init__(self, config: dict):
        self.client_id = config.get("XERO_CLIENT_ID") or ""
        self.client_secret = config.get("XERO_CLIENT_SECRET") or ""
        self.identity_url = (config.get("XERO_IDENTITY_URL") or "https://identity.xero.com").rstrip("/")
        self.api_url = (config.get("XERO_API_URL") or "https://api.xero.com").rstrip("/")
        self.scopes = config.get("XERO_SCOPES") or DEFAULT_SCOPES
        self.timeout = float(config.get("ACCOUNTING_HTTP_TIMEOUT", 20))
        self.app_name = config.get("ACCOUNTING_APP_NAME", "Factory")
        self.sandbox_url = (config.get("SANDBOX_URL") or "").rstrip("/")

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
            raise RetriableError("Xero's sign-in service did not answer. Try again in a moment.") from exc
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

    def organisations(self, access_token: str) -> list[RemoteOrganisation]:
        response = self._send(requests.get, f"{self.api_url}/connections", timeout=self.timeout,
                              headers=self._headers(access_token))
        rows = self._json(response)
        return [RemoteOrganisation(remote_id=row["tenantId"], name=row.get("tenantName") or row["tenantId"],
                                   connection_id=row.get("id"))
                for row in rows if row.get("tenantType", "ORGANISATION") == "ORGANISATION"]

    def disconnect(self, access_token, refresh_token, organisation) -> DisconnectResult:
        result = DisconnectResult(connection_removed=False, token_revoked=False)
        if access_token and organisation.connection_id:
            try:
                response = self._send(requests.delete,
                                      f"{self.api_url}/connections/{organisation.connection_id}",
                                      timeout=self.timeout, headers=self._headers(access_token))
                result.connection_removed = response.status_code in (200, 204)
            except ReconnectNeeded:
                result.connection_removed = True  # already gone on Xero's side
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
            raise RetriableError("Xero did not answer in time.") from exc
        except requests.ConnectionError as exc:
            raise RetriableError("Xero could not be reached.") from exc
        status = response.status_code
        if status == 429:
            problem = response.headers.get("X-Rate-Limit-Problem", "rate")
            raise RateLimited(f"Xero's {problem} limit was reached.",
                              retry_after=_retry_after(response.headers.get("Retry-After")))
        if status >= 500:
            raise RetriableError(f"Xero had a problem (HTTP {status}).",
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

    def contacts(self, session, page=1, modified_since=None) -> Page:
        data = self._api("GET", session, "Contacts", modified_since=modified_since, params={
            "page": page, "pageSize": PAGE_SIZE, "includeArchived": "true", "order": "UpdatedDateUTC ASC"})
        rows = data.get("Contacts") or []
        contacts = [_contact(row) for row in rows]
        pagination = data.get("pagination") or {}
        page_count = pagination.get("pageCount")
        last = (page >= page_count) if page_count is not None else len(rows) < PAGE_SIZE
        bookmark = max((c.updated_at for c in contacts if c.updated_at), default=modified_since)
        return Page(items=contacts, next_page=None if last else page + 1, bookmark=bookmark,
                    page_count=page_count)

    def items(self, session, modified_since=None) -> Page:
        data = self._api("GET", session, "Items", modified_since=modified_since)
        items = [RemoteItem(
            remote_id=row["ItemID"], code=row.get("Code") or "", name=row.get("Name"),
            description=row.get("Description"),
            sale_price=_optional_money((row.get("SalesDetails") or {}).get("UnitPrice")),
            purchase_cost=_optional_money((row.get("PurchaseDetails") or {}).get("UnitPrice")),
            updated_at=parse_xero_datetime(row.get("UpdatedDateUTC"))) for row in data.get("Items") or []]
        bookmark = max((i.updated_at for i in items if i.updated_at), default=modified_since)
        return Page(items=items, next_page=None, bookmark=bookmark)

    def accounts(self, session) -> Page:
        data = self._api("GET", session, "Accounts")
        return Page(items=[RemoteAccount(remote_id=row["AccountID"], code=row.get("Code"), name=row.get("Name", ""),
                                         kind=row.get("Type", ""), archived=row.get("Status") != "ACTIVE")
                           for row in data.get("Accounts") or []], next_page=None, bookmark=None)

    def tax_rates(self, session) -> Page:
        data = self._api("GET", session, "TaxRates")
        return Page(items=[RemoteTaxRate(code=row.get("TaxType", ""), name=row.get("Name", ""),
                                         rate=_money(row.get("EffectiveRate", row.get("DisplayTaxRate"))),
                                         archived=row.get("Status") != "ACTIVE")
                           for row in data.get("TaxRates") or []], next_page=None, bookmark=None)

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
        """One POST /Invoices with summarizeErrors=false: Xero answers 200 with one element
        per invoice sent, in order, each either saved or carrying its ValidationErrors."""
        if not documents or len(documents) > self.documents_per_call:
            raise ValueError(f"1 to {self.documents_per_call} documents per request")
        data = self._api("POST", session, "Invoices", body={"Invoices": [_invoice_body(d, r) for d, r in documents]},
                         params={"summarizeErrors": "false"}, idempotency_key=idempotency_key)
        rows = data.get("Invoices") or []
        if len(rows) != len(documents):
            raise RetriableError(f"Xero answered for {len(rows)} of {len(documents)} invoices.")
        return [Rejected(*_element_messages(row)) if row.get("HasErrors") or row.get("ValidationErrors")
                else _payment_state(row) for row in rows]

    def payment_states(self, session, remote_ids, modified_since=None) -> list[PaymentState]:
        if not remote_ids:
            return []
        data = self._api("GET", session, "Invoices", modified_since=modified_since,
                         params={"IDs": ",".join(remote_ids), "page": 1, "pageSize": len(remote_ids)})
        return [_payment_state(row) for row in data.get("Invoices") or []]

    def find_document(self, session, kind, reference, contact_remote_id=None) -> PaymentState | None:
        contacts = {reference: contact_remote_id} if contact_remote_id else None
        return self.find_documents(session, kind, [reference], contacts).get(reference)

    def find_documents(self, session, kind, references, contacts=None) -> dict[str, PaymentState]:
        """One GET for up to 50 references (where Reference=="a" OR Reference=="b" ...). A
        reference is free text in Xero (an invoice keyed in by hand may carry the same), so
        a document counts only if it is also to the contact given for its reference."""
        kind_code = "ACCREC" if kind == "sales_invoice" else "ACCPAY"
        wanted = sorted({r for r in references if r})
        found: dict[str, PaymentState] = {}
        for start in range(0, len(wanted), self.documents_per_call):
            chunk = wanted[start:start + self.documents_per_call]
            where = " OR ".join(f'Reference=="{r.replace(chr(34), "")}"' for r in chunk)
            if len(chunk) == 1:
                where = f'Type=="{kind_code}" AND {where}'
            data = self._api("GET", session, "Invoices", params={"where": where, "page": 1, "pageSize": 1000})
            for row in data.get("Invoices") or []:
                reference = row.get("Reference")
                if row.get("Type") == kind_code and row.get("Status") not in ("DELETED", "VOIDED") \
                        and reference in chunk and (contacts or {}).get(reference) in (
                            None, (row.get("Contact") or {}).get("ContactID")):
                    found.setdefault(reference, _payment_state(row))
        return found

    def document_url(self, kind, remote_id) -> str | None:
        if self.sandbox_url:
            return f"{self.sandbox_url}/ledger#invoice-{remote_id}"
        section = "AccountsReceivable" if kind == "sales_invoice" else "AccountsPayable"
        return f"https://go.xero.com/{section}/View.aspx?InvoiceID={remote_id}"

    def payment_state(self, session, remote_id) -> PaymentState:
        data = self._api("GET", session, f"Invoices/{remote_id}")
        return _payment_state((data.get("Invoices") or [{}])[0])


# --- mapping helpers ------------------------------------------------------------------

def _invoice_body(draft: DocumentDraft, remote_id: str | None) -> dict:
    body = {
        "Type": "ACCREC" if draft.kind == "sales_invoice" else "ACCPAY",
        "Contact": {"ContactID": draft.contact_remote_id},
        "Date": draft.issue_date.isoformat(), "DueDate": draft.due_date.isoformat(),
        "LineAmountTypes": "Exclusive", "CurrencyCode": draft.currency,
        "Status": "AUTHORISED" if draft.approved else "DRAFT",
        "LineItems": [{
            "Description": l.description, "Quantity": l.quantity, "UnitAmount": l.unit_price,
            "DiscountRate": l.discount_percent, "LineAmount": l.line_amount,
            **({"TaxType": l.tax_code} if l.tax_code else {}),
            **({"AccountCode": l.account_code} if l.account_code else {}),
            **({"ItemCode": l.item_code} if l.item_code else {}),
        } for l in draft.lines],
    }
    if draft.number:
        body["InvoiceNumber"] = draft.number
    if draft.reference:
        body["Reference"] = draft.reference
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


def _optional_money(value):
    return _money(value) if value is not None else None


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
ADDRESS_LINES = ("AddressLine1", "AddressLine2", "AddressLine3", "AddressLine4")


def _contact(row: dict) -> RemoteContact:
    # called for every contact of every page (tens of thousands per import): written
    # for speed, on the read-ahead thread; the same result as the plain reading
    phone = None
    found = {}
    for entry in row.get("Phones") or ():
        if entry.get("PhoneNumber"):  # most of Xero's four phone slots are empty
            text = _phone_text(entry)
            if text:
                found[entry.get("PhoneType")] = text
    if found:
        phone = next((found[kind] for kind in PHONE_ORDER if kind in found), None)
    addresses = []
    for address in row.get("Addresses") or ():
        kind = ADDRESS_KINDS.get(address.get("AddressType"))
        if not kind:
            continue
        get = address.get
        lines = [line for line in (get("AddressLine1"), get("AddressLine2"), get("AddressLine3"),
                                   get("AddressLine4")) if line]
        first = lines[0] if lines else None
        rest = ", ".join(lines[1:]) or None if len(lines) > 1 else None
        city, region, postcode, country = get("City"), get("Region"), get("PostalCode"), get("Country")
        if first or rest or city or region or postcode or country:
            addresses.append(RemoteAddress(kind, first, rest, city, region, postcode, country))
    people = ()
    persons = row.get("ContactPersons")
    if persons:
        people = tuple(RemotePerson(" ".join(p for p in (person.get("FirstName"), person.get("LastName")) if p),
                                    person.get("EmailAddress"))
                       for person in persons if person.get("FirstName") or person.get("LastName"))
    return RemoteContact(
        row.get("ContactID", ""), row.get("Name") or "", row.get("EmailAddress") or None, phone,
        row.get("Website") or None, row.get("TaxNumber") or None, bool(row.get("IsCustomer")),
        bool(row.get("IsSupplier")), row.get("ContactStatus") == "ARCHIVED", tuple(addresses), people,
        parse_xero_datetime(row.get("UpdatedDateUTC")))


def _payment_state(row: dict) -> PaymentState:
    payments = row.get("Payments") or []
    last_payment = max((parse_xero_datetime(p.get("Date")) for p in payments if p.get("Date")), default=None,
                       key=lambda d: d or datetime.min.replace(tzinfo=timezone.utc))
    return PaymentState(remote_id=row.get("InvoiceID", ""), number=row.get("InvoiceNumber"),
                        status=row.get("Status", ""), total=_money(row.get("Total")),
                        amount_paid=_money(row.get("AmountPaid")), amount_due=_money(row.get("AmountDue")),
                        last_payment_date=last_payment)
