"""The lists at size (issue 11) read a page by its ids first, search number, reference
and the party's name as one union of ids, and filter by package status with one
semi-join: these tests pin what each of those must still give, page by page."""
from __future__ import annotations

import re
from decimal import Decimal

from factory_app.extensions import db
from factory_app.models import AccountingConnection, DocumentPush, Invoice, SalesOrder

from . import factories


def numbers(page: str, prefix: str = "SO") -> list[str]:
    """The document numbers a list page links to, in the order it shows them."""
    return re.findall(rf">({prefix}-\d+)</a>", page)


def make_orders(app, tenant, count: int) -> list[str]:
    """`count` orders of rising totals over three customers; their numbers, oldest first."""
    with app.app_context():
        product = factories.product(tenant.org_id)
        customers = [factories.customer(tenant.org_id, name) for name in
                     ("Coastal Kitchens", "Harbour Air", "Ridgeline 50% Builders")]
        made = []
        for i in range(count):
            # totals that don't follow the numbers: ties (i % 7) broken by the id
            order = factories.order(tenant.org_id, customers[i % 3].id, [(product.id, 1 + i % 7, "10.00", "0", "10")])
            made.append(order.number)
        return made


def invoice_all(tenant) -> list[SalesOrder]:
    """Confirm and invoice every order of the tenant (in an app context); the orders, oldest first."""
    from factory_app.services import documents as docs
    orders = db.session.scalars(db.select(SalesOrder).where(SalesOrder.organisation_id == tenant.org_id)
                                .order_by(SalesOrder.id)).all()
    for order in orders:
        docs.set_order_status(order, "confirm")
        docs.create_invoice(order)
    db.session.flush()
    return orders


def test_every_page_of_a_list_is_the_next_rows_in_its_order_whatever_the_sort(app, tenant):
    made = make_orders(app, tenant, 112)
    client = tenant.client()
    for sort, expected in (("-number", made[::-1]), ("number", made)):
        shown = [n for page in (1, 2, 3) for n in numbers(client.get(f"/orders?sort={sort}&page={page}").get_data(as_text=True))]
        assert shown == expected
    with app.app_context():
        by_total = [o.number for o in db.session.scalars(db.select(SalesOrder).where(SalesOrder.organisation_id == tenant.org_id)
                                                         .order_by(SalesOrder.total.desc(), SalesOrder.id.desc()))]
    shown = [n for page in (1, 2, 3) for n in numbers(client.get(f"/orders?sort=-total&page={page}").get_data(as_text=True))]
    assert shown == by_total and len(shown) == 112
    last = client.get("/orders?page=99").get_data(as_text=True)  # beyond the end: the last page
    assert numbers(last) == made[::-1][100:] and "101–112 of 112" in last


def test_a_search_finds_documents_by_number_by_reference_and_by_the_partys_name_and_nothing_else(app, tenant, other_tenant):
    made = make_orders(app, tenant, 9)
    with app.app_context():
        order = db.session.scalar(db.select(SalesOrder).where(SalesOrder.number == made[4],
                                                              SalesOrder.organisation_id == tenant.org_id))
        order.reference = "PO 7781 dock"
        db.session.commit()
        rival = factories.customer(other_tenant.org_id, "Harbour Air")  # the same name in another organisation
        factories.order(other_tenant.org_id, rival.id)
    client = tenant.client()

    def found(q: str) -> list[str]:
        return sorted(numbers(client.get("/orders", query_string={"q": q}).get_data(as_text=True)))

    assert found(made[4]) == [made[4]]                              # its number
    assert found("7781") == [made[4]]                               # its reference
    assert found("harbour") == sorted(made[1::3])                   # its customer's name, any case
    assert found("50%") == sorted(made[2::3]) and found("0%") == sorted(made[2::3])  # a typed % is a %
    assert found("Kitchens 7781") == []
    invoices = client.get("/orders/invoices", query_string={"q": "harbour"}).get_data(as_text=True)
    assert numbers(invoices, "INV") == []  # no invoice yet


def test_the_invoices_package_filter_counts_and_shows_only_invoices_of_that_state(app, tenant):
    make_orders(app, tenant, 6)
    with app.app_context():
        db.session.add(AccountingConnection(organisation_id=tenant.org_id, provider="xero", remote_org_id="t1",
                                            remote_org_name="Harbour", status="active"))
        invoice_all(tenant)
        invoices = db.session.scalars(db.select(Invoice).where(Invoice.organisation_id == tenant.org_id)
                                      .order_by(Invoice.id)).all()
        # sent, part paid, paid, failed, sent to another Xero organisation, never sent
        states = [("sent", "0", None), ("sent", "5.00", "6.00"), ("sent", "11.00", "0"), ("failed", None, None)]
        for invoice, (state, paid, due) in zip(invoices, states):
            db.session.add(DocumentPush(organisation_id=tenant.org_id, provider="xero", remote_org_id="t1",
                                        doc_type="invoice", doc_id=invoice.id, state=state, wanted_version=1,
                                        amount_paid=Decimal(paid) if paid else None,
                                        amount_due=Decimal(due) if due else (invoice.total if state == "sent" else None)))
        db.session.add(DocumentPush(organisation_id=tenant.org_id, provider="xero", remote_org_id="other",
                                    doc_type="invoice", doc_id=invoices[4].id, state="sent", wanted_version=1,
                                    amount_paid=Decimal("0"), amount_due=invoices[4].total))
        db.session.commit()
        by_state = {"sent": [invoices[0].number], "part_paid": [invoices[1].number], "paid": [invoices[2].number],
                    "failed": [invoices[3].number], "queued": []}
        order_of = {i.number: i.order.number for i in invoices}
    client = tenant.client()
    for key, expected in by_state.items():
        page = client.get(f"/orders/invoices?package={key}").get_data(as_text=True)
        assert numbers(page, "INV") == expected, key
        assert f"of {len(expected)}" in page or not expected
        orders_page = client.get(f"/orders?package={key}").get_data(as_text=True)
        assert numbers(orders_page) == [order_of[n] for n in expected], key
    assert len(numbers(client.get("/orders/invoices?package=nonsense").get_data(as_text=True), "INV")) == 6


def test_a_page_past_the_middle_read_from_the_other_end_is_the_same_page(app, tenant):
    """Past the middle a page is read the other way round and turned back: with ties
    (the same email) and blanks (no email), each sorted up and down."""
    from factory_app.models import Customer
    with app.app_context():
        for i in range(61):
            factories.customer(tenant.org_id, f"Customer {i:03d}",
                               email=None if i % 5 == 0 else f"buyer{i % 4}@x.example")
        for sort, order in (("email", (Customer.email.asc(), Customer.id.asc())),
                            ("-email", (Customer.email.desc(), Customer.id.desc()))):
            expected = [c.name for c in db.session.scalars(
                db.select(Customer).where(Customer.organisation_id == tenant.org_id).order_by(*order))]
            client = tenant.client()
            shown = [n for page in (1, 2) for n in re.findall(r"(Customer \d{3})</a>",
                                                              client.get(f"/customers?sort={sort}&page={page}").get_data(as_text=True))]
            assert shown == expected, sort


def test_the_package_filter_with_no_organisation_connected_lists_each_document_once(app, tenant):
    """Disconnected, a document's pushes to every organisation it went to count (here the
    same invoice paid in two): each order is listed once, and the count agrees."""
    make_orders(app, tenant, 3)
    with app.app_context():
        orders = invoice_all(tenant)
        first = orders[0].invoice
        for remote in ("t1", "t2"):
            db.session.add(DocumentPush(organisation_id=tenant.org_id, provider="xero", remote_org_id=remote,
                                        doc_type="invoice", doc_id=first.id, state="sent", wanted_version=1,
                                        amount_paid=first.total, amount_due=Decimal("0")))
        db.session.commit()
        expected_order, expected_invoice = orders[0].number, first.number
    client = tenant.client()
    page = client.get("/orders?package=paid").get_data(as_text=True)
    assert numbers(page) == [expected_order] and "of 1" in page
    assert numbers(client.get("/orders/invoices?package=paid").get_data(as_text=True), "INV") == [expected_invoice]


def test_a_search_lists_its_matches_in_the_sorts_order_found_first_or_walked(app, tenant, monkeypatch):
    """A search of few matches is found first and sorted after; of many, the sort's order
    is walked: page by page, up and down, the same rows either way."""
    from factory_app import listing
    from factory_app.models import Customer
    with app.app_context():
        for i in range(100):
            name = f"Valley {i:03d}" if i % 3 else f"Bayside {i:03d}"
            factories.customer(tenant.org_id, name, email=None if i % 7 == 0 else f"buyer{i % 4}@x.example")
        expected = {}
        for sort, order in (("name", (Customer.name.asc(), Customer.id.asc())),
                            ("-email", (Customer.email.desc(), Customer.id.desc()))):
            expected[sort] = [c.name for c in db.session.scalars(
                db.select(Customer).where(Customer.organisation_id == tenant.org_id, Customer.name.like("Valley%"))
                .order_by(*order))]
    assert len(expected["name"]) == 66  # two pages: the second read from the other end
    client = tenant.client()
    for found_first in (2_000, 0):
        monkeypatch.setattr(listing, "FOUND_FIRST", found_first)
        for sort, names in expected.items():
            shown = [n for page in (1, 2) for n in re.findall(
                r"((?:Valley|Bayside) \d{3})</a>",
                client.get(f"/customers?q=valley&sort={sort}&page={page}").get_data(as_text=True))]
            assert shown == names, (found_first, sort)


def test_list_rows_show_the_names_and_city_read_beside_them(app, tenant):
    """The lists read a row's party name, an invoice's order number and a party's city
    in the row's own query: the City column is the street address's city, else the
    postal address's (a street address without a city shows none, as before)."""
    from factory_app.models import Address
    with app.app_context():
        both = factories.customer(tenant.org_id, "Both Addresses")
        both.addresses = [Address(kind="postal", city="Postal Town"), Address(kind="street", city="Street Town")]
        postal = factories.customer(tenant.org_id, "Postal Only")
        postal.addresses = [Address(kind="postal", city="Box Hill")]
        blank = factories.customer(tenant.org_id, "Street Without City")
        blank.addresses = [Address(kind="street", line1="1 Quay St"), Address(kind="postal", city="Never Shown")]
        factories.customer(tenant.org_id, "No Address")
        db.session.commit()
        from factory_app.services import documents as docs
        order = factories.order(tenant.org_id, postal.id, [(factories.product(tenant.org_id).id, 1, "10.00", "0", "10")])
        docs.set_order_status(order, "confirm")
        invoice = docs.create_invoice(order)
        db.session.commit()
        order_number, invoice_number = order.number, invoice.number
    client = tenant.client()
    page = client.get("/customers").get_data(as_text=True)
    cities = dict(re.findall(r'>([A-Z][\w ]+)</a></td>.*?data-label="City">([^<]*)</td>', page, re.S))
    assert cities == {"Both Addresses": "Street Town", "Postal Only": "Box Hill", "Street Without City": "",
                      "No Address": ""}
    orders = client.get("/orders").get_data(as_text=True)
    assert re.search(rf">{order_number}</a></td>\s*<td data-label=\"Customer\">Postal Only</td>", orders)
    invoices = client.get("/orders/invoices").get_data(as_text=True)
    assert re.search(rf">{invoice_number}</a></td>\s*<td data-label=\"Customer\">Postal Only</td>\s*"
                     rf"<td data-label=\"Order\"><a href=\"[^\"]+\">{order_number}</a>", invoices)
