"""What every package's adapter does against its face of the sandbox, through the
interface only (base.py): the same test for each package of the registry. A new package
passes these before its flows are tried in the browser."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal as D

import pytest
import requests

from factory_app.accounting.base import (
    AccessTokenExpired, ApiSession, DocumentDraft, DocumentLine, ReconnectNeeded, RemoteContact,
)

from ..support.consent import query
from ..support.packages import CALLBACK, DRIVERS

HOSTILE = "Coastal <b>Kitchens</b> & Co"


@pytest.fixture()
def connected(package, adapter):
    """Connect as the office manager would: the consent page, the callback, the code
    exchange, the organisations the login may use; Harbour's session."""
    driver = DRIVERS[package]
    started = adapter.authorisation(CALLBACK)
    back = driver.consent(started.url, ["Harbour"])
    assert back.startswith(CALLBACK), back
    params = query(back)
    assert params["state"] == started.state and "code" in params
    tokens = adapter.exchange_code(params["code"], CALLBACK, started.code_verifier)
    organisations = adapter.organisations(tokens.access_token, params)
    [harbour] = [o for o in organisations if "Harbour" in o.name]
    assert harbour.remote_id == driver.demo_organisation
    return {"tokens": tokens, "organisation": harbour,
            "session": ApiSession(tokens.access_token, harbour.remote_id, dict(harbour.data))}


def read_all(adapter, session, list_name, modified_since=None) -> list:
    """Every page of a contact list, following the adapter's cursors as given."""
    found, cursor, pages = [], None, 0
    while True:
        page = adapter.contacts(session, page=cursor, modified_since=modified_since, list_name=list_name)
        found += page.items
        pages += 1
        assert page.next_page is None or (isinstance(page.next_page, str) and len(page.next_page) <= 500)
        assert all(isinstance(c, str) for c in page.ahead)
        if page.next_page is None:
            return found
        assert pages < 1000, "the cursors never end"
        cursor = page.next_page


def test_a_connection_is_made_and_its_token_refreshed(adapter, connected):
    tokens = connected["tokens"]
    assert tokens.expires_at > datetime.now(timezone.utc)
    fresh = adapter.refresh(tokens.refresh_token)
    assert fresh.access_token != tokens.access_token and fresh.refresh_token
    adapter.probe(ApiSession(fresh.access_token, connected["organisation"].remote_id,
                             dict(connected["organisation"].data)))


def test_every_contact_list_is_read_whole_once(adapter, connected):
    session = connected["session"]
    every = {}
    for list_name in adapter.contact_lists:
        contacts = read_all(adapter, session, list_name)
        ids = [c.remote_id for c in contacts]
        assert contacts and len(ids) == len(set(ids)), f"{list_name}: a contact read twice"
        assert every.keys().isdisjoint(ids), "a remote id in two lists names two records"
        every.update((c.remote_id, c) for c in contacts)
    assert any(c.is_customer for c in every.values()) and any(c.is_supplier for c in every.values())
    for kind in ("customer", "supplier"):
        assert adapter.contact_list_for(kind) in adapter.contact_lists


def test_the_reference_lists_are_read_and_a_mapping_proposed(adapter, connected):
    session = connected["session"]
    accounts, rates, items = (adapter.accounts(session).items, adapter.tax_rates(session).items,
                              adapter.items(session).items)
    assert accounts and rates and items
    assert all(isinstance(r.rate, D) for r in rates) and all(r.remote_id for r in rates)
    proposal = adapter.propose_mapping(accounts, rates, D("10"))
    assert {"sales_account_code", "sales_tax_taxable", "purchase_account_code", "purchase_tax_taxable"} <= set(proposal)
    assert proposal["sales_account_code"] in {a.code for a in accounts}
    assert proposal["sales_tax_taxable"] in {r.code for r in rates if r.rate == D("10") and r.applies_to_sales}


def test_a_contact_created_is_read_back_with_its_name_as_given(adapter, connected):
    session = connected["session"]
    before = datetime.now(timezone.utc) - timedelta(seconds=5)
    made = adapter.save_contact(session, None, name=HOSTILE, email="ap@coastal.example",
                                idempotency_key="contract-contact-1")
    assert made.remote_id and made.name == HOSTILE
    again = adapter.save_contact(session, None, name=HOSTILE, email="ap@coastal.example",
                                 idempotency_key="contract-contact-1")
    assert again.remote_id == made.remote_id  # the same request again makes no second contact
    changed = [c for name in adapter.contact_lists for c in read_all(adapter, session, name, before)]
    [found] = [c for c in changed if c.remote_id == made.remote_id]
    assert (found.name, found.email) == (HOSTILE, "ap@coastal.example")


def test_a_supplier_created_is_in_the_list_suppliers_are_read_from(adapter, connected):
    """`kind` says which list a package that keeps them apart creates the contact in."""
    session = connected["session"]
    before = datetime.now(timezone.utc) - timedelta(seconds=5)
    made = adapter.save_contact(session, None, name="Unanderra Steel Supplies", kind="supplier",
                                idempotency_key="contract-supplier-1")
    suppliers = read_all(adapter, session, adapter.contact_list_for("supplier"), before)
    assert made.remote_id in {c.remote_id for c in suppliers}


def sales_invoice(adapter, session, number: str) -> DocumentDraft:
    """Two lines at GST, with the accounts and tax rates the adapter proposes."""
    accounts, rates = adapter.accounts(session).items, adapter.tax_rates(session).items
    proposal = adapter.propose_mapping(accounts, rates, D("10"))
    customer = next(c for name in adapter.contact_lists for c in read_all(adapter, session, name)
                    if c.is_customer and not c.archived)
    account, tax = proposal["sales_account_code"], proposal["sales_tax_taxable"]
    account_id = next(a.remote_id for a in accounts if a.code == account)
    tax_id = next(r.remote_id for r in rates if r.code == tax)
    lines = tuple(DocumentLine(description=text, quantity=D(q), unit_price=D(p), discount_percent=D("0"),
                               tax_code=tax, account_code=account, item_code=None, line_amount=D(q) * D(p),
                               tax_id=tax_id, account_id=account_id)
                  for text, q, p in (("Zincalume panel", "3", "48.50"), ("Flashing", "2", "12.80")))
    return DocumentDraft(kind="sales_invoice", contact_remote_id=customer.remote_id, number=number,
                         reference="PO 5521", issue_date=date(2026, 12, 1), due_date=date(2026, 12, 31),
                         currency="AUD", lines=lines, approved=True)


def test_an_invoice_sent_twice_is_one_document_with_factorys_totals(adapter, connected):
    session = connected["session"]
    draft = sales_invoice(adapter, session, "CT-1001")
    sent = adapter.save_document(session, draft, None, "contract-invoice-1")
    # the answer was lost and the same request goes again: still one document
    again = adapter.save_document(session, draft, None, "contract-invoice-1")
    assert again.remote_id == sent.remote_id
    # 145.50 + 25.60 and 10 % GST on each line: 14.55 + 2.56
    assert (sent.total, sent.amount_paid, sent.amount_due) == (D("188.21"), D("0"), D("188.21"))
    assert not sent.has_payments
    [found] = adapter.find_documents(session, [draft])
    assert found is not None and found.remote_id == sent.remote_id


def test_a_payment_the_bookkeeper_applies_is_read_as_the_invoices_state(adapter, connected, books, package):
    session = connected["session"]
    sent = adapter.save_document(session, sales_invoice(adapter, session, "CT-1002"), None, "contract-invoice-2")
    organisation, document = DRIVERS[package].ledger_ids(session.remote_org_id, sent.remote_id)
    answer = requests.post(f"{books.url}/ledger/payments", allow_redirects=False, timeout=10, data={
        "tenant_id": organisation, "invoice_id": document, "amount": "50.00", "date": "2026-12-02"})
    assert answer.status_code == 303 and "Payment+applied" in answer.headers["Location"]
    state = adapter.payment_state(session, sent.remote_id)
    assert state.has_payments and (state.amount_paid, state.amount_due) == (D("50.00"), D("138.21"))
    [listed] = adapter.payment_states(session, [sent.remote_id]).items
    assert listed.remote_id == sent.remote_id and listed.amount_due == D("138.21")


def test_disconnect_removes_factory_from_the_connected_apps(adapter, connected):
    tokens, organisation = connected["tokens"], connected["organisation"]
    result = adapter.disconnect(tokens.access_token, tokens.refresh_token, organisation)
    assert result.connection_removed and result.token_revoked and not result.problems
    with pytest.raises((ReconnectNeeded, AccessTokenExpired)):
        adapter.probe(connected["session"])
    with pytest.raises(ReconnectNeeded):
        adapter.refresh(tokens.refresh_token)
