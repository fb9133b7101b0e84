"""Small builders for test data; each goes through the service functions the app uses."""
from __future__ import annotations

from decimal import Decimal

from factory_app.extensions import db
from factory_app.models import Product
from factory_app.services import documents as docs
from factory_app.services import parties


def customer(org_id: int, name: str = "Coastal Kitchens", **extra):
    party = parties.create_party(org_id, "customer", {"name": name, **extra})
    db.session.commit()
    return party


def supplier(org_id: int, name: str = "BlueScope Distribution", **extra):
    party = parties.create_party(org_id, "supplier", {"name": name, **extra})
    db.session.commit()
    return party


def product(org_id: int, sku: str = "PNL-1", price: str = "48.50", cost: str = "20.00", taxable=True):
    row = Product(organisation_id=org_id, sku=sku, name=f"Panel {sku}", sale_price=Decimal(price),
                  purchase_cost=Decimal(cost), taxable=taxable)
    db.session.add(row)
    db.session.commit()
    return row


def order(org_id: int, customer_id: int, lines=(), status: str = "draft"):
    """lines: (product_id or None, quantity, unit_price, discount, tax_rate) tuples."""
    doc = docs.create_order(org_id, {"customer_id": customer_id})
    for product_id, qty, price, discount, tax in lines:
        line = docs.add_line(doc, product_id)
        docs.update_line(doc, line, {"product_id": product_id, "description": "Item",
                                     "quantity": Decimal(qty), "unit_price": Decimal(price),
                                     "discount_percent": Decimal(discount), "tax_rate": Decimal(tax)})
    if status in ("confirmed", "invoiced"):
        docs.set_order_status(doc, "confirm")
    if status == "invoiced":
        docs.create_invoice(doc)
    if status == "cancelled":
        docs.set_order_status(doc, "cancel")
    db.session.commit()
    return doc


def purchase(org_id: int, supplier_id: int, lines=(), status: str = "draft"):
    doc = docs.create_purchase(org_id, {"supplier_id": supplier_id})
    for product_id, qty, price, tax in lines:
        line = docs.add_line(doc, product_id)
        docs.update_line(doc, line, {"product_id": product_id, "description": "Item",
                                     "quantity": Decimal(qty), "unit_price": Decimal(price),
                                     "tax_rate": Decimal(tax)})
    if status in ("sent", "received"):
        docs.set_purchase_status(doc, "send")
    if status == "received":
        docs.set_purchase_status(doc, "receive")
    db.session.commit()
    return doc
