"""Every list, edit page and picker asks the database the same number of questions with
10 rows as with 200 (issue 11): no query per row, no picker loading every customer.
The figures at real size (10,000 customers, 50,000 orders) are benchmarks/pages.py's."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event

from factory_app.extensions import db
from factory_app.models import AccountingConnection, Address, ContactPerson, DocumentPush, Product
from factory_app.models.types import utcnow
from factory_app.services import documents as docs
from factory_app.services import parties

from .conftest import HTMX, Tenant


@contextmanager
def counting():
    """The SQL statements run inside the block."""
    seen: list[str] = []

    def note(conn, cursor, statement, *args):
        seen.append(statement)
    engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def seed(org_id: int, rows: int, lines: int) -> dict:
    """rows customers and suppliers (each with two addresses and a person), products,
    orders (every other one invoiced and sent, its payment checked just now) and
    purchase orders, each document with `lines` lines. Returns ids to visit."""
    now = utcnow()
    customers, suppliers, products = [], [], []
    for i in range(rows):
        for kind, into in (("customer", customers), ("supplier", suppliers)):
            party = parties.create_party(org_id, kind, {"name": f"{kind.title()} {i:04d}", "email": f"{kind}{i}@x.example"})
            party.addresses = [Address(kind="postal", line1=f"{i} Dock Rd", city="Geelong"),
                               Address(kind="street", line1=f"{i} Quay St", city="Geelong")]
            party.people = [ContactPerson(name=f"Person {i}", email=f"p{i}@x.example")]
            into.append(party)
        product = Product(organisation_id=org_id, sku=f"SKU-{i:04d}", name=f"Panel {i}", sale_price=Decimal("48.50"),
                          purchase_cost=Decimal("20.00"), taxable=True)
        db.session.add(product)
        products.append(product)
    db.session.flush()
    order_ids, purchase_ids = [], []
    for i in range(rows):
        order = docs.create_order(org_id, {"customer_id": customers[i].id})
        purchase = docs.create_purchase(org_id, {"supplier_id": suppliers[i].id})
        for doc in (order, purchase):
            for n in range(lines):
                line = docs.add_line(doc, products[(i + n) % rows].id)
                docs.update_line(doc, line, {"product_id": products[(i + n) % rows].id, "description": "Panel",
                                             "quantity": Decimal(n + 1), "unit_price": Decimal("48.50"),
                                             "discount_percent": Decimal("0"), "tax_rate": Decimal("10")})
        docs.set_order_status(order, "confirm")
        docs.set_purchase_status(purchase, "send")
        if i % 2 == 0:
            invoice = docs.create_invoice(order)
            db.session.flush()
            db.session.add(DocumentPush(organisation_id=org_id, provider="xero", remote_org_id="t1", doc_type="invoice",
                                        doc_id=invoice.id, state="sent", wanted_version=1, pushed_version=1,
                                        remote_id=f"r-{invoice.id}", remote_number=invoice.number,
                                        remote_status="AUTHORISED", amount_paid=Decimal("0"),
                                        amount_due=invoice.total, payment_checked_at=now + timedelta(hours=1)))
        db.session.flush()
        order_ids.append(order.id)
        purchase_ids.append(purchase.id)
        if i % 50 == 49:
            db.session.commit()
    db.session.commit()
    return {"order": order_ids[0], "purchase": purchase_ids[0], "customer": customers[0].id,
            "product": products[0].id}


PAGES = [
    "/", "/orders", "/orders?q=Customer&status=invoiced&sort=-total", "/orders?package=sent",
    "/orders/invoices", "/orders/invoices?q=INV&sort=customer", "/purchases", "/purchases?status=sent&sort=supplier",
    "/customers", "/customers?q=Cust&sort=name", "/suppliers", "/products", "/products?q=Panel",
    "/orders/new", "/purchases/new", "/orders/{order}", "/purchases/{purchase}", "/customers/{customer}",
    "/orders?customer_id={customer}", "/pick/customers?q=Cust&list=c", "/pick/suppliers?q=Supp&list=s", "/pick/products?q=SKU&list=p",
]


def queries_per_page(app, rows: int, lines: int) -> dict[str, tuple[int, int]]:
    tenant = Tenant(app, f"Size {rows}")
    with app.app_context():
        db.session.add(AccountingConnection(organisation_id=tenant.org_id, provider="xero", remote_org_id="t1",
                                            remote_org_name="Harbour", status="active"))
        db.session.commit()
        ids = seed(tenant.org_id, rows, lines)
    client = tenant.client()
    counts = {}
    for page in PAGES:
        path = page.format(**ids)
        client.get(path)  # the first visit may settle something once (a payment check, a session)
        with app.app_context(), counting() as seen:
            response = client.get(path, headers=HTMX if path.startswith("/pick/") else {})
        assert response.status_code == 200, (path, response.status_code)
        counts[page] = (len(seen), len(response.data))
    return counts


def test_every_list_edit_page_and_picker_asks_the_same_questions_at_10_and_at_200_rows(app):
    small = queries_per_page(app, rows=10, lines=2)
    large = queries_per_page(app, rows=200, lines=20)
    grew = {page: (small[page][0], large[page][0]) for page in PAGES if large[page][0] != small[page][0]}
    assert grew == {}, f"queries per request grew with the rows (10 rows, 200 rows): {grew}"
    too_many = {page: large[page][0] for page in PAGES if large[page][0] > 20}
    assert too_many == {}, f"over 20 queries for a page: {too_many}"
    # a page holds one page of rows (50) and the pickers 20 matches, however many there are
    heavy = {page: large[page][1] for page in PAGES if large[page][1] > 150_000}
    assert heavy == {}, f"pages over 150 KB: {heavy}"


@pytest.mark.parametrize("kind,query,expected", [("customers", "0199", "Customer 0199"),
                                                 ("products", "SKU-0007", "SKU-0007")])
def test_a_picker_finds_a_row_that_is_not_on_any_first_page(app, tenant, kind, query, expected):
    with app.app_context():
        seed(tenant.org_id, 200, 1)
    client = tenant.client()
    found = client.get(f"/pick/{kind}?q={query}&list=x", headers=HTMX).get_data(as_text=True)
    assert expected in found
    assert found.count('role="option"') == 1
    first = client.get(f"/pick/{kind}?q=&list=x", headers=HTMX).get_data(as_text=True)
    assert first.count('role="option"') <= 20


def test_the_orders_package_filter_keeps_only_this_organisations_orders_of_that_status(app, tenant, other_tenant):
    """The filter's subquery is correlated to each order (it once matched every order of
    an organisation whose first invoice happened to be sent)."""
    for who in (other_tenant, tenant):
        with app.app_context():
            db.session.add(AccountingConnection(organisation_id=who.org_id, provider="xero", remote_org_id=f"t{who.org_id}",
                                                remote_org_name="Harbour", status="active"))
            db.session.commit()
            seed(who.org_id, 10, 1)
            db.session.execute(db.update(DocumentPush).where(DocumentPush.organisation_id == who.org_id)
                               .values(remote_org_id=f"t{who.org_id}"))
            db.session.commit()
    page = tenant.client().get("/orders?package=sent").get_data(as_text=True)
    assert page.count("SO-") == 5  # the five invoiced of ten
    assert tenant.client().get("/orders?package=failed").get_data(as_text=True).count("SO-") == 0


def test_a_request_asks_for_the_connection_once_and_still_sees_one_made_or_closed_meanwhile(app, tenant):
    from factory_app.accounting.connections import current_connection
    from factory_app.models import DISCONNECTED
    with app.test_request_context():
        assert current_connection(tenant.org_id) is None  # None is not kept...
        connection = AccountingConnection(organisation_id=tenant.org_id, provider="xero", remote_org_id="t1",
                                          remote_org_name="Harbour", status="active")
        db.session.add(connection)
        db.session.flush()
        assert current_connection(tenant.org_id) is connection  # ...so one made meanwhile is found
        with counting() as seen:
            assert current_connection(tenant.org_id) is connection
        assert seen == []  # asked once
        connection.status = DISCONNECTED
        with counting() as seen:
            assert current_connection(tenant.org_id) is None  # a closed one is not kept
        assert sum(s.startswith("SELECT") for s in seen) == 1  # (the other: the change, flushed)
        db.session.rollback()


def test_a_fragment_that_shows_no_banner_asks_nothing_about_the_connection(app, tenant):
    with app.app_context():
        db.session.add(AccountingConnection(organisation_id=tenant.org_id, provider="xero", remote_org_id="t1",
                                            remote_org_name="Harbour", status="active"))
        db.session.commit()
        seed(tenant.org_id, 3, 1)
    client = tenant.client()
    with app.app_context(), counting() as fragment:
        assert client.get("/pick/customers?q=Cust&list=c", headers=HTMX).status_code == 200
    with app.app_context(), counting() as page:
        assert client.get("/customers").status_code == 200
    asks = [s for s in fragment if "accounting_connections" in s or "document_pushes" in s]
    assert asks == [] and len(fragment) == 2  # the user and the matches
    assert sum("accounting_connections" in s for s in page) == 1  # a page with the banner asks once
