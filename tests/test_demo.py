from sqlalchemy import func, select

from factory_app.demo import ADMIN_EMAIL, seed_demo
from factory_app.extensions import db
from factory_app.models import Customer, Invoice, PurchaseOrder, SalesOrder, Supplier


def test_seed_demo_once_with_every_order_state(app):
    with app.app_context():
        assert seed_demo("pw-demo-123") == (True, ADMIN_EMAIL)
        assert seed_demo("pw-demo-123") == (False, ADMIN_EMAIL)
        statuses = set(db.session.scalars(select(SalesOrder.status)))
        assert statuses == {"draft", "confirmed", "invoiced", "cancelled"}
        assert db.session.scalar(select(func.count()).select_from(Invoice)) == 1
        assert db.session.scalar(select(func.count()).select_from(PurchaseOrder)) >= 1
        both = set(db.session.scalars(select(Customer.name))) & set(db.session.scalars(select(Supplier.name)))
        assert both, "a business that is both customer and supplier"
        invoice = db.session.scalar(select(Invoice))
        assert invoice.total == sum(l.line_total for l in invoice.lines)
    client = app.test_client()
    assert client.post("/login", data={"email": ADMIN_EMAIL, "password": "pw-demo-123"}).status_code == 302
    assert b"Harbour Sheet Metal" in client.get("/").data
