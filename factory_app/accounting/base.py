"""The package-neutral interface between Factory and an accounting package.

Everything that crosses it is a plain dataclass; money is Decimal. Adapters (one per
package: providers/xero/ now) turn these into the package's own API calls, and classify
every failure into one of three errors, so nothing outside an adapter parses an HTTP
response:

- RetriableError: try again later (429 with its Retry-After, 5xx, timeouts, resets).
- ReconnectNeeded: the package no longer accepts this connection (refresh token
  rejected, connection removed on the package's side); a person must reconnect.
- Rejected: the package refused the request itself (validation); `message` is the
  package's own words, kept for the user.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Mapping


# --- errors ---------------------------------------------------------------------------

class ProviderError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class RetriableError(ProviderError):
    """Worth trying again later. `reached` is False when the request certainly changed
    nothing in the package (refused for a rate limit before it was handled, or never
    sent); True when it may have been applied and its answer lost (5xx, timeout, reset)."""

    def __init__(self, message: str, retry_after: float | None = None, reached: bool = True):
        super().__init__(message)
        self.retry_after = retry_after
        self.reached = reached


class Unreachable(RetriableError):
    """The package did not answer (timeout, connection refused or reset) or answered that
    it is failing itself (5xx): an outage, not a problem of this request. Until it
    answers again, what waits goes out after a cheap probe says it is back."""


class RateLimited(RetriableError):
    """The package refused the call for one of its rate limits (HTTP 429): nothing was
    done, and it says how long to wait (`retry_after`). Every call for the organisation
    waits that long (ratelimit.Budget), not only the one refused."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message, retry_after=retry_after, reached=False)


class AccessTokenExpired(RetriableError):
    """The access token was refused (HTTP 401): refresh it and try once more."""


class ReconnectNeeded(ProviderError):
    pass


class Rejected(ProviderError):
    """`reason` names a refusal the engines answer in their own words (the adapter
    recognises the package's): DUPLICATE_NUMBER, the document number is taken there."""

    DUPLICATE_NUMBER = "duplicate_number"

    def __init__(self, message: str, details: list[str] | None = None, reason: str | None = None):
        super().__init__(message)
        self.details = details or []
        self.reason = reason


# --- identity -------------------------------------------------------------------------

@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str
    expires_at: datetime
    scope: str = ""


@dataclass(frozen=True)
class RemoteOrganisation:
    """An organisation (Xero: tenant; QuickBooks: company/realm) a login can reach."""
    remote_id: str
    name: str
    connection_id: str | None = None  # the package's id for our app's link to it, if any
    # what else the package needs of it on every call (kept as the connection's
    # package_data, handed back in ApiSession.extras): plain JSON values
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Authorisation:
    url: str
    state: str
    code_verifier: str | None


@dataclass
class DisconnectResult:
    """What happened on the package's side; the local connection closes regardless."""
    connection_removed: bool
    token_revoked: bool
    problems: list[str] = field(default_factory=list)


# --- accounting data ------------------------------------------------------------------
# Contacts and their parts are read-only by convention but not frozen: an import builds
# tens of thousands of them per run, and a frozen dataclass costs three times as much
# to create (every field is set through object.__setattr__).

@dataclass
class RemoteAddress:
    kind: str  # "postal" | "street"
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = None
    postcode: str | None = None
    country: str | None = None


@dataclass
class RemotePerson:
    name: str
    email: str | None = None
    phone: str | None = None


@dataclass
class RemoteContact:
    remote_id: str
    name: str
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    tax_number: str | None = None
    is_customer: bool = False
    is_supplier: bool = False
    archived: bool = False
    addresses: tuple[RemoteAddress, ...] = ()
    people: tuple[RemotePerson, ...] = ()
    updated_at: datetime | None = None


@dataclass(frozen=True)
class RemoteItem:
    remote_id: str
    code: str
    name: str | None = None
    description: str | None = None
    sale_price: Decimal | None = None
    purchase_cost: Decimal | None = None
    updated_at: datetime | None = None
    # the item's own accounts and tax types, when it has them (else the connection's mapping)
    sales_account_code: str | None = None
    sales_tax_type: str | None = None
    purchase_account_code: str | None = None
    purchase_tax_type: str | None = None


@dataclass(frozen=True)
class RemoteAccount:
    remote_id: str
    code: str | None
    name: str
    kind: str  # the package's account type, e.g. REVENUE, EXPENSE, BANK
    archived: bool = False


@dataclass(frozen=True)
class RemoteTaxRate:
    code: str  # the package's tax type/code, as people know it
    name: str
    rate: Decimal
    archived: bool = False
    applies_to_sales: bool = True      # offered on sales (Xero: CanApplyToRevenue)
    applies_to_purchases: bool = True  # offered on purchases (Xero: CanApplyToExpenses)
    # the package's own id of it where that is not the code (QuickBooks' TaxCode Id, MYOB's
    # UID); the code where it is (Xero's TaxType)
    remote_id: str = ""

    def __post_init__(self):
        if not self.remote_id:
            object.__setattr__(self, "remote_id", self.code)


@dataclass(frozen=True)
class RecordProblem:
    """A record of a list that the adapter could not read (a shape the package's own types
    don't allow): it is left out of the page, and the engine logs it. `remote_id` and
    `name` as far as they could be read as text; `reason` is short and plain, e.g.
    "Phones is not a list"."""
    remote_id: str | None
    name: str | None
    reason: str


@dataclass(frozen=True)
class Page:
    """One page of a list read. `next_page` is the cursor of the page after it, None on
    the last page: opaque text only its adapter reads (Xero's is a page number,
    QuickBooks' a STARTPOSITION, MYOB's a `$skip` or its NextPageLink), passed back as
    `page=` and kept by a run to resume from (at most 500 characters). `ahead`: cursors of
    the pages after `next_page` that the adapter already knows (from a page count), in
    order, so the engine may read them before they are needed; empty when it can't know.
    `bookmark` is what to pass as `modified_since` next time once every page has been
    stored. `failures`: the page's records that could not be read (the others are in `items`)."""
    items: list
    next_page: str | None
    bookmark: datetime | None
    page_count: int | None = None
    failures: list[RecordProblem] = field(default_factory=list)
    ahead: tuple[str, ...] = ()


@dataclass(frozen=True)
class DocumentLine:
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    tax_code: str | None
    account_code: str | None
    item_code: str | None
    line_amount: Decimal  # net, as Factory computed it
    # the package's own ids of the line's tax rate, account and item, from the synced lists
    # (QuickBooks refers to them by id: TaxCodeRef, AccountRef, ItemRef; MYOB by UID; Xero
    # by the codes above). None where the synced list doesn't have it.
    tax_id: str | None = None
    account_id: str | None = None
    item_id: str | None = None


@dataclass(frozen=True)
class DocumentDraft:
    """A sales invoice or a bill as Factory sends it."""
    kind: str  # "sales_invoice" | "bill"
    contact_remote_id: str
    number: str | None
    reference: str | None
    issue_date: object
    due_date: object
    currency: str
    lines: tuple[DocumentLine, ...]
    # draft in the package, or approved/authorised; None: as it is there (an update never
    # changes the status the package holds)
    approved: bool | None = False


@dataclass(frozen=True)
class PaymentState:
    remote_id: str
    number: str | None
    status: str  # the package's status, e.g. AUTHORISED, PAID
    total: Decimal
    amount_paid: Decimal
    amount_due: Decimal
    last_payment_date: object | None = None

    @property
    def has_payments(self) -> bool:
        return self.amount_paid > 0


@dataclass(frozen=True)
class WebhookEvent:
    """The package says a record of one of its organisations changed: a DOCUMENT (a
    sales invoice or a bill; some packages don't say which) or a CONTACT."""
    DOCUMENT = "document"
    CONTACT = "contact"

    kind: str
    remote_org_id: str
    remote_id: str


# --- the interface --------------------------------------------------------------------

class AccountingProvider(ABC):
    """One accounting package. Instances are cheap; make one per use."""

    key: str = ""          # "xero"
    display_name: str = "" # "Xero"
    # the package's limits per remote organisation, as budgeted by ratelimit.Budget
    calls_per_minute: int = 60
    concurrent_calls: int = 5
    # how many documents one save_documents() request may carry
    documents_per_call: int = 1
    # the lists the package keeps contacts in, each read page by page with a bookmark of
    # its own (Xero: one list, each contact flagged customer and/or supplier; QuickBooks
    # keeps Customers and Vendors apart). A remote id is unique across them all.
    contact_lists: tuple[str, ...] = ("contacts",)

    def contact_list_for(self, kind: str) -> str:
        """The list an import of this kind ("customer", "supplier") reads."""
        return self.contact_lists[0]

    @abstractmethod
    def is_configured(self) -> bool: ...

    @classmethod
    def sandbox_settings(cls, url: str, client_id: str, client_secret: str, webhook_key: str,
                         callback_url: str) -> dict[str, str]:
        """The settings (environment variables) that point this package's adapter at its
        face of the local sandbox at `url`, for the demo; {} where the sandbox has none."""
        return {}

    # identity
    @abstractmethod
    def authorisation(self, redirect_uri: str) -> Authorisation: ...

    @abstractmethod
    def exchange_code(self, code: str, redirect_uri: str, code_verifier: str | None) -> TokenSet: ...

    @abstractmethod
    def refresh(self, refresh_token: str) -> TokenSet: ...

    @abstractmethod
    def organisations(self, access_token: str, callback: Mapping[str, str] | None = None) -> list[RemoteOrganisation]:
        """The organisations this login may use. `callback` is what the package sent back
        to the OAuth callback besides state and code, where a package names the chosen
        company there (QuickBooks' realmId, MYOB's businessId); None when Factory asks
        again later (a token refresh, a check that the organisation is still there)."""

    @abstractmethod
    def disconnect(self, access_token: str | None, refresh_token: str | None,
                   organisation: RemoteOrganisation) -> DisconnectResult: ...

    def webhook_events(self, headers, body: bytes) -> list[WebhookEvent] | None:
        """A webhook request's events (POST /webhooks/<key>), or None when it can't be
        proved to come from the package (its signature): Factory answers 401. A package
        without webhooks refuses every request."""
        return None

    def probe(self, session: "ApiSession") -> None:
        """The cheapest call that proves the package answers for this organisation (the
        outbox's probe after an outage)."""
        self.accounts(session)

    def release_organisation(self, access_token: str, organisation: RemoteOrganisation) -> None:
        """Remove Factory's connection to one organisation the login granted but Factory
        does not keep (where one consent can grant several). Packages whose consent
        grants one organisation have nothing to release."""

    def propose_mapping(self, accounts: list["RemoteAccount"], tax_rates: list["RemoteTaxRate"],
                        default_rate: Decimal) -> dict[str, str]:
        """The package's own defaults for the mapping fields (factory_app.accounting.mapping:
        sales_account_code, sales_tax_taxable, ...), from its synced accounts and tax
        rates; a field that can't be told is left out."""
        return {}

    # reads, page by page, modified since a bookmark
    @abstractmethod
    def contacts(self, session: "ApiSession", page: str | None = None, modified_since: datetime | None = None,
                 list_name: str | None = None) -> Page:
        """One page of a contact list (`list_name`, one of contact_lists; None: the first),
        oldest change first; `page` is a cursor a Page gave as next_page or in ahead (None:
        the first page)."""

    @abstractmethod
    def items(self, session: "ApiSession", modified_since: datetime | None = None) -> Page: ...

    @abstractmethod
    def accounts(self, session: "ApiSession") -> Page: ...

    @abstractmethod
    def tax_rates(self, session: "ApiSession") -> Page: ...

    # writes
    @abstractmethod
    def save_contact(self, session: "ApiSession", contact: RemoteContact | None, *, name: str,
                     email: str | None = None, kind: str = "customer",
                     idempotency_key: str | None = None) -> RemoteContact:
        """A contact created (contact None) or renamed. `kind` ("customer" | "supplier") is
        what Factory holds it as: a package that keeps customers and suppliers in lists of
        their own (contact_lists) creates it in contact_list_for(kind); Xero ignores it."""

    @abstractmethod
    def save_document(self, session: "ApiSession", draft: DocumentDraft, remote_id: str | None,
                      idempotency_key: str) -> PaymentState: ...

    def save_documents(self, session: "ApiSession", documents: list[tuple[DocumentDraft, str | None]],
                       idempotency_key: str) -> list[PaymentState | Rejected]:
        """Several documents in one request (at most documents_per_call), each with its
        remote id when it is an update. One result per document, in order: its state, or
        the package's rejection of that document alone. An error raised is the whole
        request's."""
        if len(documents) != 1:
            raise ValueError(f"{self.display_name} takes one document per request")
        draft, remote_id = documents[0]
        try:
            return [self.save_document(session, draft, remote_id, idempotency_key)]
        except Rejected as exc:
            return [exc]

    @abstractmethod
    def payment_state(self, session: "ApiSession", remote_id: str) -> PaymentState: ...

    @abstractmethod
    def payment_states(self, session: "ApiSession", remote_ids: list[str],
                       modified_since: datetime | None = None) -> Page:
        """The payment state of several documents (those changed since, when given), as
        one Page of PaymentState (and the documents that could not be read)."""

    @abstractmethod
    def find_documents(self, session: "ApiSession", drafts: list[DocumentDraft]) -> list[PaymentState | None]:
        """For each draft, the document the package holds for it, if any: how Factory
        recovers a create whose answer was lost before sending it again. Found by what the
        package keeps unique of a document (its number, when Factory numbers documents),
        else by what tells it apart best (contact, date, reference, amount); one result
        per draft, in order."""

    def document_url(self, kind: str, remote_id: str) -> str | None:
        return None


@dataclass
class ApiSession:
    """What an API call needs: a fresh access token, the remote organisation's id, and
    whatever else the package keeps of the connection (`extras`: the connection's
    package_data, as the adapter gave it at connect time)."""
    access_token: str
    remote_org_id: str
    extras: Mapping[str, Any] = field(default_factory=dict)
