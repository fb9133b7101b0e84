"""Tenant isolation: every route that takes an id answers 404 to another organisation,
for every method it accepts, and changes nothing. The routes are read from the URL map,
so a new route with an id is covered (or fails here until it is)."""
import pytest
from sqlalchemy import select

from factory_app.extensions import db
from factory_app.models import (
    Customer, ImportReview, Invoice, PendingAuthorisation, Product, PurchaseOrder, SalesOrder, Supplier,
    SyncFailure, SyncRun,
)

from . import factories
from .conftest import HTMX


@pytest.fixture()
def victim(app, tenant):
    """Everything of the tenant's that another organisation might try to reach."""
    with app.app_context():
        customer = factories.customer(tenant.org_id, "Victim Customer")
        supplier = factories.supplier(tenant.org_id, "Victim Supplier")
        product = factories.product(tenant.org_id, "VIC-1")
        order = factories.order(tenant.org_id, customer.id, lines=[(product.id, "2", "10", "0", "10")],
                                status="invoiced")
        purchase = factories.purchase(tenant.org_id, supplier.id, lines=[(product.id, "3", "5", "10")])
        pending = PendingAuthorisation(organisation_id=tenant.org_id, user_id=tenant.admin_id, provider="xero",
                                       state="victim-state", choices_json='[{"remote_id": "t1", "name": "Org"}]')
        db.session.add(pending)
        run = SyncRun(organisation_id=tenant.org_id, kind="create_contact", status="failed")
        db.session.add(run)
        db.session.flush()
        failure = SyncFailure(organisation_id=tenant.org_id, run_id=run.id, local_type="customer",
                              local_id=customer.id, message="Victim failure")
        review = ImportReview(organisation_id=tenant.org_id, provider="xero", remote_org_id="t1",
                              local_type="customer", remote_id="r1", remote_name="Victim Remote",
                              remote_data="{}", candidate_ids=str(customer.id), reason="Same name")
        db.session.add_all([failure, review])
        db.session.commit()
        return {
            "pending_id": pending.id, "run_id": run.id, "failure_id": failure.id, "review_id": review.id,
            "customers": customer.id, "suppliers": supplier.id, "product_id": product.id,
            "sales": order.id, "sales_line": order.lines[0].id, "invoice_id": order.invoice.id,
            "purchases": purchase.id, "purchases_line": purchase.lines[0].id,
            "user_id": tenant.staff_id,
        }


def urls_with_ids(app, ids):
    for rule in app.url_map.iter_rules():
        # a signed token (a password reset link) names no row, nor a picker's kind: not ids
        args = {a for a in rule.arguments if a not in ("plural", "provider_key", "token", "kind")}
        if not args or rule.endpoint == "static":
            continue
        blueprint = rule.endpoint.split(".")[0]
        pluralities = ["customers", "suppliers"] if "plural" in rule.arguments else [None]
        for plural in pluralities:
            values = {}
            for arg in rule.arguments:
                if arg == "plural":
                    values[arg] = plural
                elif arg == "provider_key":
                    values[arg] = "xero"
                elif arg == "party_id":
                    values[arg] = ids[plural]
                elif arg == "doc_id":
                    values[arg] = ids[blueprint]
                elif arg == "line_id":
                    values[arg] = ids[f"{blueprint}_line"]
                else:
                    values[arg] = ids[arg]
            path = rule.build(values)[1]
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, path


def snapshot(app):
    with app.app_context():
        rows = []
        for model in (Customer, Supplier, Product, SalesOrder, PurchaseOrder, Invoice):
            for row in db.session.scalars(select(model)):
                rows.append((model.__name__, row.id, getattr(row, "name", None), getattr(row, "total", None),
                             getattr(row, "status", None), getattr(row, "version", None)))
        return sorted(rows, key=repr)


def test_every_id_route_is_404_for_another_organisation(app, tenant, other_tenant, victim):
    intruder = other_tenant.client()
    before = snapshot(app)
    checked = []
    for method, path in urls_with_ids(app, victim):
        for headers in ({}, HTMX):
            response = intruder.open(path, method=method, headers=headers,
                                     data={"name": "Hacked", "quantity": "999", "action": "cancel",
                                           "role": "administrator", "active": "y"})
            assert response.status_code == 404, (method, path, response.status_code)
        checked.append((method, path))
    assert len(checked) >= 15, checked  # the map really was walked
    assert snapshot(app) == before
    owner = tenant.client()
    assert owner.get(f"/orders/{victim['sales']}").status_code == 200


def test_lists_and_pickers_show_only_own_rows(app, tenant, other_tenant, victim):
    intruder = other_tenant.client()
    for url in ("/customers", "/suppliers", "/products", "/orders", "/purchases", "/orders/invoices",
                "/orders/new", "/purchases/new", "/settings/users", "/"):
        body = intruder.get(url).get_data(as_text=True)
        assert "Victim" not in body and "VIC-1" not in body and tenant.staff_email not in body, url
    # a foreign customer id posted into one's own order is refused too
    with app.app_context():
        own_customer = factories.customer(other_tenant.org_id, "Own Customer").id
    response = intruder.post("/orders/new", data={"customer_id": str(victim["customers"]),
                                                  "order_date": "2026-11-28"})
    assert response.status_code == 422
    response = intruder.post("/orders/new", data={"customer_id": str(own_customer), "order_date": "2026-11-28"})
    assert response.status_code == 302
    with app.app_context():
        order_id = db.session.scalar(select(SalesOrder.id).where(SalesOrder.organisation_id == other_tenant.org_id))
    intruder.post(f"/orders/{order_id}/lines", headers=HTMX)
    with app.app_context():
        line_id = db.session.get(SalesOrder, order_id).lines[0].id
    foreign_product = intruder.post(f"/orders/{order_id}/lines/{line_id}", headers=HTMX, data={
        "product_id": str(victim["product_id"]), "quantity": "1", "unit_price": "1", "tax_rate": "0"})
    assert foreign_product.status_code == 422
