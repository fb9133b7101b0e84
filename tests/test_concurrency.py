"""Issue 10 item 10 and issue 16 item 4: eight identical requests at once on every create
route make one record and no 500; clients creating orders, invoices and purchase
orders side by side get distinct, gapless numbers. Against a live threaded server, on
the suite's database (SQLite here, PostgreSQL in CI)."""
from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from factory_app.extensions import db
from factory_app.models import (
    AccountingConnection, Customer, DocumentPush, ExternalLink, ImportReview, Invoice, Product, PurchaseOrder,
    RemoteRecord, SalesOrder, SalesOrderLine, Supplier, SyncRun,
)

from . import factories
from .conftest import PASSWORD, make_app, serving

AT_ONCE = 8


@pytest.fixture()
def live(app, database_url, redis_url):
    with serving(make_app(database_url, redis_url, TESTING=False)) as base:
        yield base


def session_for(base, email) -> dict:
    s = requests.Session()
    response = s.post(f"{base}/login", data={"email": email, "password": PASSWORD}, allow_redirects=False, timeout=10)
    assert response.status_code == 302
    return s.cookies.get_dict()


def at_once(base, cookies, method, path, data=None, headers=None, n=AT_ONCE, bodies=None):
    """n requests released together (a barrier), each with its own connection."""
    barrier = threading.Barrier(n)

    def one(i):
        with requests.Session() as s:
            s.cookies.update(cookies)
            barrier.wait()
            return s.request(method, base + path, data=bodies[i] if bodies else data, headers=headers or {},
                             allow_redirects=False, timeout=60)
    with ThreadPoolExecutor(n) as pool:
        responses = list(pool.map(one, range(n)))
    statuses = [r.status_code for r in responses]
    assert all(code < 500 for code in statuses), (path, statuses)
    return responses


def once_token(base, cookies, path) -> str:
    page = requests.get(base + path, cookies=cookies, timeout=10).text
    return re.search(r'name="once" value="([^"]+)"', page).group(1)


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture()
def world(app, tenant):
    with app.app_context():
        customer = factories.customer(tenant.org_id)
        supplier = factories.supplier(tenant.org_id)
        product = factories.product(tenant.org_id)
        confirmed = factories.order(tenant.org_id, customer.id, lines=[(product.id, "1", "10", "0", "10")],
                                    status="confirmed")
        draft = factories.order(tenant.org_id, customer.id, lines=[(product.id, "1", "10", "0", "10")])
        purchase = factories.purchase(tenant.org_id, supplier.id, lines=[(product.id, "2", "5", "10")])
        connection = AccountingConnection(organisation_id=tenant.org_id, provider="xero", remote_org_id="t1",
                                          remote_org_name="Harbour", status="active")
        db.session.add(connection)
        db.session.add(RemoteRecord(organisation_id=tenant.org_id, provider="xero", remote_org_id="t1", kind="contact",
                                    remote_id="c-remote", name="Coastal Kitchens"))
        review = ImportReview(organisation_id=tenant.org_id, provider="xero", remote_org_id="t1", local_type="customer",
                              remote_id="r-review", remote_name="Review Me Pty Ltd",
                              remote_data='{"remote_id": "r-review", "name": "Review Me Pty Ltd", "is_customer": true}',
                              candidate_ids=str(customer.id), reason="Same name")
        db.session.add(review)
        db.session.commit()
        return {"customer": customer.id, "confirmed": confirmed.id, "draft": draft.id, "purchase": purchase.id,
                "review": review.id}


def test_eight_identical_creates_make_one_record_each(app, live, tenant, world):
    cookies = session_for(live, tenant.admin_email)
    org = tenant.org_id

    def create(path, form_path, data, model, *where, headers=None):
        before = count(app, model, model.organisation_id == org, *where)
        token = once_token(live, cookies, form_path)
        responses = at_once(live, cookies, "POST", path, {**data, "once": token}, headers)
        assert count(app, model, model.organisation_id == org, *where) == before + 1, path
        return responses

    made = create("/customers/new", "/customers/new", {"name": "Eight Times Pty Ltd"}, Customer)
    assert {r.status_code for r in made} == {302}
    assert len({r.headers["Location"] for r in made}) == 1  # the same customer's page, every time
    create("/suppliers/inline", "/suppliers/inline?field=supplier_id", {"name": "Inline Eight", "field": "supplier_id"},
           Supplier, headers={"HX-Request": "true"})
    create("/products/new", "/products/new", {"sku": "EIGHT-1", "name": "Eight", "sale_price": "1", "purchase_cost": "1"},
           Product)
    create("/orders/new", "/orders/new", {"customer_id": world["customer"], "order_date": "2026-12-01"}, SalesOrder)
    create("/purchases/new", "/purchases/new", {"supplier_id": world["customer"] + 1, "order_date": "2026-12-01"},
           PurchaseOrder)

    # a line added by a double click (the button's own token)
    editor = requests.get(f"{live}/orders/{world['draft']}", cookies=cookies, timeout=10).text
    token = re.search(r'hx-vals=\'\{"once": "([^"]+)"\}\'', editor).group(1)
    lines = count(app, SalesOrderLine, SalesOrderLine.order_id == world["draft"])
    at_once(live, cookies, "POST", f"/orders/{world['draft']}/lines", {"once": token}, {"HX-Request": "true"})
    assert count(app, SalesOrderLine, SalesOrderLine.order_id == world["draft"]) == lines + 1

    # Create invoice, pressed eight times: one invoice, and every answer shows it
    answers = at_once(live, cookies, "POST", f"/orders/{world['confirmed']}/invoice")
    assert count(app, Invoice, Invoice.order_id == world["confirmed"]) == 1
    with app.app_context():
        invoice_id = db.session.scalar(select(Invoice.id).where(Invoice.order_id == world["confirmed"]))
    assert {r.headers["Location"] for r in answers} == {f"/orders/invoices/{invoice_id}"}

    # status changes, the push asked for by hand, a review, a link, a run
    at_once(live, cookies, "POST", f"/orders/{world['draft']}/status", {"action": "confirm"})
    at_once(live, cookies, "POST", f"/purchases/{world['purchase']}/status", {"action": "send"})
    at_once(live, cookies, "POST", f"/orders/invoices/{invoice_id}/push")
    assert count(app, DocumentPush, DocumentPush.doc_type == "invoice", DocumentPush.doc_id == invoice_id) == 1
    at_once(live, cookies, "POST", f"/customers/{world['customer']}/remote", {"action": "link", "remote_id": "c-remote"},
            {"HX-Request": "true"})
    assert count(app, ExternalLink, ExternalLink.local_id == world["customer"], ExternalLink.local_type == "customer") == 1
    at_once(live, cookies, "POST", "/settings/integrations/runs", {"kind": "sync"}, {"HX-Request": "true"})
    assert count(app, SyncRun, SyncRun.kind == "sync") == 1
    parties = count(app, Customer)
    at_once(live, cookies, "POST", f"/settings/integrations/reviews/{world['review']}", {"action": "create"},
            {"HX-Request": "true"})
    assert count(app, Customer) == parties + 1


def test_numbers_stay_distinct_and_gapless_when_clients_work_side_by_side(app, live, tenant, world):
    """Eight clients (each its own form, so eight real orders) at once, twice over, and
    eight invoices of eight orders at once: no error, no number taken twice or skipped."""
    cookies = session_for(live, tenant.admin_email)
    staff = session_for(live, tenant.staff_email)
    with app.app_context():
        orders = [factories.order(tenant.org_id, world["customer"], lines=[(None, "1", "5", "0", "0")],
                                  status="confirmed").id for _ in range(AT_ONCE)]
    for jar in (cookies, staff):
        bodies = [{"customer_id": world["customer"], "order_date": "2026-12-01",
                   "once": once_token(live, jar, "/orders/new")} for _ in range(AT_ONCE)]
        at_once(live, jar, "POST", "/orders/new", bodies=bodies)
        bodies = [{"supplier_id": world["customer"] + 1, "order_date": "2026-12-01",
                   "once": once_token(live, jar, "/purchases/new")} for _ in range(AT_ONCE)]
        at_once(live, jar, "POST", "/purchases/new", bodies=bodies)
    barrier = threading.Barrier(AT_ONCE)

    def invoice(order_id):
        with requests.Session() as s:
            s.cookies.update(cookies)
            barrier.wait()
            return s.post(f"{live}/orders/{order_id}/invoice", allow_redirects=False, timeout=60).status_code
    with ThreadPoolExecutor(AT_ONCE) as pool:
        assert set(pool.map(invoice, orders)) == {302}
    with app.app_context():
        for model, prefix in ((SalesOrder, "SO"), (PurchaseOrder, "PO"), (Invoice, "INV")):
            numbers = sorted(int(n.removeprefix(f"{prefix}-")) for n in db.session.scalars(
                select(model.number).where(model.organisation_id == tenant.org_id)))
            assert numbers == list(range(1, len(numbers) + 1)), (prefix, numbers)
        assert db.session.scalar(select(func.count()).select_from(Invoice)) == AT_ONCE + 0
