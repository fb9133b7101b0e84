"""Browser test of issue 11 (phone width): at 390 x 844, as on a phone, every list, the
dashboard, the order, purchase and invoice pages, a customer's page, the settings and
the inline "+ New customer" form fit the screen (the document is no wider than the
viewport and nothing sticks out past its edges), the main navigation is collapsed
behind a Menu button, the line editor's lines are stacked cards whose fields are wide
enough to read, and buttons, links of the navigation, fields and the picker's options
are at least 44 px high. Screenshots of four of them go to docs/screenshots/ as
phone-*.png (FACTORY_SCREENSHOTS overrides the folder).
"""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from factory_app.extensions import db
from factory_app.models import AccountingConnection, ImportReview, Product, RemoteRecord, SyncRun
from factory_app.models.types import utcnow
from factory_app.services import documents as docs
from factory_app.services import parties

from .conftest import Tenant
from .test_browser import SHOTS, browser_page, live_server, settled  # noqa: F401  (fixture and helpers)
from .test_browser_trust import log_in

pytestmark = pytest.mark.browser
WIDTH, HEIGHT = 390, 844
TOUCH = 44  # px, the least a finger can hit


@pytest.fixture()
def phone():
    """A page in a phone-sized, touch, mobile browser; fails the test on any JavaScript
    error or anything the Content-Security-Policy refuses (as test_browser.page)."""
    with browser_page(viewport={"width": WIDTH, "height": HEIGHT}, is_mobile=True, has_touch=True,
                      device_scale_factor=1) as page:  # 1: small PNGs
        yield page


# --- what is measured on every page (functions, not expressions: the CSP refuses eval) --

def page_width(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth")


STICKING_OUT = """() => {
  // visible elements whose box reaches past the viewport's left or right edge (an
  // overflow: hidden ancestor would hide them from scrollWidth, not from the person)
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || getComputedStyle(el).visibility === 'hidden') continue;
    if (r.right > window.innerWidth + 0.5 || r.left < -0.5) {
      out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
               (el.className && typeof el.className === 'string' ? '.' + el.className.trim().replace(/\\s+/g, '.') : '') +
               ' ' + Math.round(r.left) + '..' + Math.round(r.right));
    }
  }
  return out.slice(0, 8);
}"""

SMALL_TARGETS = """(least) => {
  // what a finger presses: buttons, button-links, fields, the navigation's links, the
  // pager, tabs; a checkbox or radio counts by its label
  const out = [];
  const wanted = 'button, .button, input:not([type=hidden]), select, textarea, .mainnav a, .who a, ' +
                 '.pager a, .tabs a, .chip a, [role=option]';
  for (const el of document.querySelectorAll(wanted)) {
    const target = (el.type === 'checkbox' || el.type === 'radio') ? (el.closest('label') || el) : el;
    const r = target.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || getComputedStyle(target).visibility === 'hidden') continue;
    if (r.height < least - 0.5) {
      out.push(target.tagName.toLowerCase() + ' "' + (target.textContent || target.name || '').trim().slice(0, 30) +
               '" ' + Math.round(r.height) + 'px');
    }
  }
  return out;
}"""


def fits(page, where: str):
    """The page is no wider than the phone and nothing sticks out sideways."""
    width = page_width(page)
    assert width <= WIDTH, f"{where}: the page is {width} px wide on a {WIDTH} px screen"
    out = page.evaluate(STICKING_OUT)
    assert out == [], f"{where}: past the screen's edge: {out}"


def big_enough(page, where: str):
    small = page.evaluate(SMALL_TARGETS, TOUCH)
    assert small == [], f"{where}: smaller than {TOUCH} px to touch: {small}"


def menu_collapsed_then_open(page, where: str):
    """The main navigation hides behind Menu; Menu opens it (and it fits), and closes it."""
    nav = page.get_by_role("navigation", name="Main")
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(nav.get_by_role("link", name="Orders")).to_be_hidden()
    expect(page.get_by_role("button", name="Log out")).to_be_hidden()
    bar = page.locator(".topbar").bounding_box()
    assert bar["height"] <= 56, f"{where}: the collapsed top bar is {bar['height']} px high"
    menu.tap()
    expect(menu).to_have_attribute("aria-expanded", "true")
    for name in ("Orders", "Invoices", "Purchases", "Customers", "Suppliers", "Products", "Settings"):
        expect(nav.get_by_role("link", name=name)).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    fits(page, where + " (menu open)")
    big_enough(page, where + " (menu open)")
    menu.tap()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(nav.get_by_role("link", name="Orders")).to_be_hidden()


def screenshot(page, name: str):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def check(page, url: str, where: str, shot: str | None = None):
    page.goto(url)
    settled(page)
    fits(page, where)
    if shot:
        screenshot(page, shot)
    menu_collapsed_then_open(page, where)
    big_enough(page, where)


# --- an organisation with a bit of everything ---------------------------------------

def _address(line1, city, region, postcode):
    fields = {"line1": line1, "city": city, "region": region, "postcode": postcode, "country": "Australia"}
    return {"postal": fields, "street": fields}


def _document(doc, lines):
    for product, description, qty, price, discount, tax in lines:
        line = docs.add_line(doc, product.id if product else None)
        docs.update_line(doc, line, {"product_id": product.id if product else None, "description": description,
                                     "quantity": Decimal(qty), "unit_price": Decimal(price),
                                     "discount_percent": Decimal(discount), "tax_rate": Decimal(tax)})
    return doc


def seed(app) -> dict:
    tenant = Tenant(app, "Harbour Sheet Metal")
    org = tenant.org_id
    with app.app_context():
        bayside = parties.create_party(org, "customer", {
            "name": "Bayside Air Conditioning Pty Ltd", "email": "accounts.payable@baysideairconditioning.example",
            "phone": "03 9555 0142", "addresses": _address("14 Foreshore Road", "Port Melbourne", "VIC", "3207")})
        coastal = parties.create_party(org, "customer", {
            "name": "Coastal Kitchens", "email": "orders@coastalkitchens.example", "phone": "03 9555 0199",
            "addresses": _address("2/88 Industrial Drive", "Geelong", "VIC", "3220")})
        for n in range(60):  # more than a page of them: the pager shows
            parties.create_party(org, "customer", {
                "name": f"Customer {n:02d} Fabrications", "email": f"office{n:02d}@customer.example",
                "addresses": _address(f"{n + 1} Long Street", "Dandenong South", "VIC", "3175")})
        bluescope = parties.create_party(org, "supplier", {
            "name": "BlueScope Distribution", "email": "sales@bluescope-distribution.example",
            "addresses": _address("1 Steel Way", "Laverton North", "VIC", "3026")})
        products = [Product(organisation_id=org, sku=sku, name=name, unit=unit, sale_price=Decimal(price),
                            purchase_cost=Decimal(cost), taxable=True)
                    for sku, name, unit, price, cost in (
                        ("PNL-1200", "Zincalume panel 1200 x 600", "ea", "48.50", "21.30"),
                        ("DCT-300", "Galvanised duct, 300 mm round", "m", "32.00", "14.10"),
                        ("BRK-L50", "Angle bracket, 50 mm, powder coated", "ea", "4.75", "1.20"),
                        ("ROD-6", "Steel rod", "m", "3.10", "1.05"))]
        db.session.add_all(products)
        db.session.flush()
        panel, duct, bracket, _rod = products
        lines = [(panel, "Zincalume panel 1200 x 600", "12", "48.50", "0", "10"),
                 (duct, "Galvanised duct, 300 mm round", "7.5", "32.00", "5", "10"),
                 (None, "Powder coat, charcoal", "12", "8.25", "0", "10")]
        draft = _document(docs.create_order(org, {"customer_id": bayside.id}), lines)
        draft.reference = "Rooftop unit housings"
        invoiced = _document(docs.create_order(org, {"customer_id": coastal.id}), lines)
        invoiced.reference = "Kitchen exhaust hoods, stage 2"
        docs.set_order_status(invoiced, "confirm")
        invoice = docs.create_invoice(invoiced)
        confirmed = _document(docs.create_order(org, {"customer_id": coastal.id}), lines[:1])
        docs.set_order_status(confirmed, "confirm")
        purchase = docs.create_purchase(org, {"supplier_id": bluescope.id})
        for product, qty in ((panel, "40"), (bracket, "200")):
            line = docs.add_line(purchase, product.id)
            docs.update_line(purchase, line, {"product_id": product.id, "description": product.name,
                                              "quantity": Decimal(qty), "unit_price": product.purchase_cost,
                                              "tax_rate": Decimal("10")})
        db.session.commit()
        # connected to the package afterwards, so nothing was queued to be sent
        connection = AccountingConnection(organisation_id=org, provider="xero", remote_org_id="t1",
                                          remote_org_name="Harbour Sheet Metal", status="active",
                                          connected_by_id=tenant.admin_id, last_update_at=utcnow())
        db.session.add(connection)
        db.session.flush()
        for kind, code, name, data, sales, purchases in (
                ("account", "200", "Sales", "REVENUE", False, False),
                ("account", "310", "Cost of goods sold", "DIRECTCOSTS", False, False),
                ("tax_rate", "OUTPUT", "GST on Income", "10", True, False),
                ("tax_rate", "EXEMPTOUTPUT", "GST Free Income", "0", True, False),
                ("tax_rate", "INPUT", "GST on Expenses", "10", False, True),
                ("tax_rate", "EXEMPTEXPENSES", "GST Free Expenses", "0", False, True)):
            db.session.add(RemoteRecord(organisation_id=org, provider="xero", remote_org_id="t1", kind=kind,
                                        remote_id=code, code=code, name=name, data=data,
                                        is_customer=sales, is_supplier=purchases))
        started = utcnow() - timedelta(minutes=5)
        db.session.add_all([
            SyncRun(organisation_id=org, connection_id=connection.id, kind="import_customers", status="done",
                    seen=62, created=58, linked=3, review=1, created_at=started, started_at=started,
                    finished_at=started + timedelta(seconds=40)),
            SyncRun(organisation_id=org, connection_id=connection.id, kind="sync", status="done", seen=140,
                    updated=12, created_at=started, started_at=started, finished_at=started + timedelta(minutes=1)),
            ImportReview(organisation_id=org, provider="xero", remote_org_id="t1", local_type="customer",
                         remote_id="c-coastal", remote_name="Coastal Kitchens Pty Ltd",
                         remote_email="accounts@coastalkitchens.example", remote_data="{}",
                         candidate_ids=str(coastal.id), reason="Same phone number, a similar name")])
        db.session.commit()
        return {"tenant": tenant, "draft": draft.id, "invoice": invoice.id, "purchase": purchase.id,
                "customer": bayside.id}


def test_every_page_fits_a_phone(live_server, app, phone):  # noqa: F811
    base, page = live_server, phone
    ids = seed(app)
    log_in(page, base, ids["tenant"].admin_email)
    expect(page.locator("h1")).to_have_text("Harbour Sheet Metal")

    check(page, f"{base}/orders", "orders", shot="phone-orders.png")
    check(page, f"{base}/", "dashboard")
    menu = page.get_by_role("button", name="Menu")
    menu.tap()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Orders")).to_be_visible()
    page.keyboard.press("Escape")  # closes it, and Menu has the focus
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_focused()
    check(page, f"{base}/orders/invoices", "invoices")
    check(page, f"{base}/purchases", "purchases")
    check(page, f"{base}/customers", "customers")
    expect(page.get_by_role("navigation", name="Pages")).to_be_visible()  # 62 customers: two pages
    check(page, f"{base}/suppliers", "suppliers")
    check(page, f"{base}/products", "products")
    check(page, f"{base}/customers/{ids['customer']}", "a customer")
    check(page, f"{base}/customers/{ids['customer']}/edit", "a customer's form")
    check(page, f"{base}/orders/invoices/{ids['invoice']}", "an invoice")
    check(page, f"{base}/purchases/{ids['purchase']}", "a purchase order")
    check(page, f"{base}/settings", "settings")
    check(page, f"{base}/settings/users", "users")
    check(page, f"{base}/settings/integrations", "integrations", shot="phone-integrations.png")

    # the order: its lines are cards, each field wide enough to read what is in it
    check(page, f"{base}/orders/{ids['draft']}", "the order")
    rows = page.locator("#lines tr[id^=line-]")
    expect(rows).to_have_count(3)
    for i in range(3):
        row = rows.nth(i)
        for field in row.locator("input:not([type=hidden])").all():
            box = field.bounding_box()
            assert box["width"] >= 150, f"line {i + 1}: {field.get_attribute('aria-label')} is {box['width']} px wide"
        remove = row.get_by_role("button", name="Remove line").bounding_box()
        assert remove["width"] >= TOUCH and remove["height"] >= TOUCH, f"line {i + 1}: Remove line is {remove}"
        # each field says what it is: the cell's label is shown above or beside it
        labels = row.locator("td[data-label]").evaluate_all(
            "cells => cells.map(c => getComputedStyle(c, '::before').content)")
        assert labels[:3] == ['"Product"', '"Description"', '"Qty"'], labels
    # a line is a card: one field under the other, never two side by side
    first = rows.nth(0)
    boxes = sorted((b["y"], b["y"] + b["height"]) for b in
                   (f.bounding_box() for f in first.locator("input:not([type=hidden])").all()))
    assert len(boxes) == 6 and all(below[0] >= above[1] for above, below in zip(boxes, boxes[1:])), boxes
    # the product picker's options are big enough to touch and stay on the screen
    combobox = first.get_by_role("combobox")
    combobox.tap()
    combobox.fill("")
    combobox.press_sequentially("ROD", delay=30)
    option = page.locator(f"#{combobox.get_attribute('aria-controls')} [role=option]").first
    expect(option).to_be_visible()
    expect(option).to_contain_text("ROD-6")
    assert option.bounding_box()["height"] >= TOUCH
    fits(page, "the order (product picker open)")
    big_enough(page, "the order (product picker open)")
    combobox.press("Escape")
    expect(option).to_be_hidden()
    expect(combobox).to_have_value("PNL-1200 — Zincalume panel 1200 x 600")  # nothing changed
    # typed on the phone: the amount and the totals follow, the amount keeps its label
    third = rows.nth(2)
    third.locator("input[name=quantity]").fill("14")
    third.locator("input[name=quantity]").press("Tab")
    expect(page.locator("[data-total=total]")).to_have_text("$1,018.05")
    amount = third.locator("td.amount")
    expect(amount).to_have_text("$115.50")
    assert amount.evaluate("cell => getComputedStyle(cell, '::before').content") == '"Amount"'
    settled(page)
    page.locator("#delivery_notes").fill("Crane access from the lane.")
    page.locator(".page-head h1").tap()  # nothing is focused or pressed in the screenshot
    screenshot(page, "phone-order-edit.png")

    # a new order for a new customer, created in place
    check(page, f"{base}/orders/new", "a new order")
    page.get_by_role("button", name="+ New customer").tap()
    inline = page.locator("form.inline-form")
    expect(inline).to_be_visible()
    settled(page)
    inline.locator("#name").fill("Northside Refrigeration")
    inline.locator("#email").fill("service@northside-refrigeration.example")
    inline.locator("#phone").fill("03 9555 0177")
    fits(page, "the inline customer form")
    big_enough(page, "the inline customer form")
    page.locator(".page-head h1").tap()
    screenshot(page, "phone-inline-customer.png")
    inline.get_by_role("button", name="Save customer").tap()
    expect(page.locator("form.inline-form")).to_have_count(0)
    expect(page.locator("#customer_id-search")).to_have_value("Northside Refrigeration")
    fits(page, "a new order, its customer chosen")

    for name in ("phone-order-edit.png", "phone-orders.png", "phone-inline-customer.png", "phone-integrations.png"):
        assert (SHOTS / name).stat().st_size > 10_000
