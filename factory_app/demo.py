"""The demo organisation: a sheet-metal fabricator run by Maria (administrator) with Tom
in sales (staff). Its data is shaped by ../shared/JOURNEYS.md: customers that will match
the accounting sandbox's contacts by email, by name and one doubtfully; a business that
is both customer and supplier; orders in every state; a purchase order.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from .extensions import db
from .models import ROLE_ADMIN, ROLE_STAFF, Organisation, Product, User
from .services import documents as docs
from .services import parties

DEMO_ORG = "Harbour Sheet Metal Pty Ltd"
ADMIN_EMAIL = "maria@harbour-sheetmetal.example"
STAFF_EMAIL = "tom@harbour-sheetmetal.example"

CUSTOMERS = [
    dict(name="Coastal Kitchens Pty Ltd", email="accounts@coastalkitchens.example", phone="02 9555 0101",
         tax_number="51 824 753 556", website="https://coastalkitchens.example",
         addresses={"postal": dict(line1="PO Box 118", city="Manly", region="NSW", postcode="1655", country="Australia"),
                    "street": dict(line1="14 Pittwater Rd", city="Manly", region="NSW", postcode="2095", country="Australia")},
         people=[dict(name="Grace Lin", email="grace@coastalkitchens.example", phone="0412 555 101")]),
    dict(name="Ridgeline Builders", email="ap@ridgeline.example", phone="02 4555 0199",
         addresses={"street": dict(line1="3/22 Industrial Ave", city="Wollongong", region="NSW", postcode="2500", country="Australia")},
         people=[dict(name="Sam Okafor", email="sam@ridgeline.example")]),
    # Matches a sandbox contact by name only, with a different email: a doubtful match.
    dict(name="Bayside Air Conditioning", email="office@baysideair.example", phone="03 9555 0142"),
    dict(name="Northern Rail Maintenance", email="purchasing@nrm.example", phone="07 3555 0110",
         tax_number="33 051 775 556"),
    # Both a customer and a supplier.
    dict(name="Precision Laser Cutting", email="sales@precisionlaser.example", phone="02 8555 0170"),
]
SUPPLIERS = [
    dict(name="BlueScope Distribution", email="orders@bluescope-dist.example", phone="1300 555 010",
         addresses={"postal": dict(line1="Locked Bag 7", city="Port Kembla", region="NSW", postcode="2505", country="Australia")},
         people=[dict(name="Hannah Reid", email="hannah@bluescope-dist.example", phone="0400 555 010")]),
    dict(name="Fastenings Direct", email="accounts@fasteningsdirect.example", phone="02 9555 0222"),
    dict(name="Precision Laser Cutting", email="sales@precisionlaser.example", phone="02 8555 0170"),
]
PRODUCTS = [
    ("PNL-1200", "Zincalume panel 1200 x 600", "0.8 mm, folded edges", "48.50", "21.30", "ea", True),
    ("PNL-2400", "Zincalume panel 2400 x 1200", "0.8 mm, folded edges", "132.00", "61.75", "ea", True),
    ("DCT-300", "Galvanised duct 300 mm", "per metre, spiral seam", "36.40", "14.90", "m", True),
    ("BRK-L50", "L-bracket 50 mm stainless", "316 stainless", "4.25", "1.1250", "ea", True),
    ("FAB-HR", "Fabrication labour", "per hour, workshop", "95.00", "0", "hr", True),
    ("DEL-MET", "Delivery — metro", "flat rate", "65.00", "0", "ea", False),
]


def demo_login() -> str | None:
    user = db.session.scalar(select(User).where(User.email == ADMIN_EMAIL))
    return user.email if user else None


def seed_demo(password: str) -> tuple[bool, str]:
    """Create the demo organisation once; returns (created, admin email)."""
    if demo_login():
        return False, ADMIN_EMAIL
    org = Organisation(name=DEMO_ORG, base_currency="AUD", timezone="Australia/Sydney",
                       default_tax_rate=Decimal("10"))
    db.session.add(org)
    db.session.flush()
    for email, name, role in ((ADMIN_EMAIL, "Maria Rossi", ROLE_ADMIN), (STAFF_EMAIL, "Tom Nguyen", ROLE_STAFF)):
        user = User(organisation=org, name=name, email=email, role=role)
        user.set_password(password)
        db.session.add(user)

    customers = [parties.create_party(org.id, "customer", data) for data in CUSTOMERS]
    suppliers = [parties.create_party(org.id, "supplier", data) for data in SUPPLIERS]
    products = {}
    for sku, name, desc, price, cost, unit, taxable in PRODUCTS:
        product = Product(organisation_id=org.id, sku=sku, name=name, description=desc,
                          sale_price=Decimal(price), purchase_cost=Decimal(cost), unit=unit,
                          taxable=taxable)
        db.session.add(product)
        products[sku] = product
    db.session.flush()

    today = date.today()

    def order(customer, lines, days_ago, reference=None):
        doc = docs.create_order(org.id, {"customer_id": customer.id,
                                         "order_date": today - timedelta(days=days_ago),
                                         "delivery_date": today + timedelta(days=14 - days_ago),
                                         "reference": reference})
        for sku, qty, discount in lines:
            line = docs.add_line(doc, products[sku].id)
            docs.update_line(doc, line, {"product_id": products[sku].id, "quantity": Decimal(qty),
                                         "discount_percent": Decimal(discount)})
        return doc

    order(customers[0], [("PNL-1200", "12", "0"), ("BRK-L50", "48", "5")], 1, "Kitchen fit-out stage 2")
    confirmed = order(customers[1], [("DCT-300", "25.5", "0"), ("FAB-HR", "6", "0")], 3, "Site 14 ducting")
    docs.set_order_status(confirmed, "confirm")
    invoiced = order(customers[3], [("PNL-2400", "8", "10"), ("DEL-MET", "1", "0")], 9, "Depot cladding")
    docs.set_order_status(invoiced, "confirm")
    docs.create_invoice(invoiced, today - timedelta(days=7))
    cancelled = order(customers[2], [("PNL-1200", "4", "0")], 12)
    docs.set_order_status(cancelled, "cancel")

    purchase = docs.create_purchase(org.id, {"supplier_id": suppliers[0].id, "order_date": today - timedelta(days=2),
                                             "expected_date": today + timedelta(days=5),
                                             "reference": "Coil restock"})
    for sku, qty in (("PNL-1200", "40"), ("PNL-2400", "20")):
        line = docs.add_line(purchase, products[sku].id)
        docs.update_line(purchase, line, {"product_id": products[sku].id, "quantity": Decimal(qty)})
    docs.set_purchase_status(purchase, "send")
    draft_purchase = docs.create_purchase(org.id, {"supplier_id": suppliers[1].id, "order_date": today})
    line = docs.add_line(draft_purchase, products["BRK-L50"].id)
    docs.update_line(draft_purchase, line, {"product_id": products["BRK-L50"].id, "quantity": Decimal("500")})
    db.session.commit()
    return True, ADMIN_EMAIL
