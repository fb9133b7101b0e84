from decimal import Decimal

import pytest
from sqlalchemy import select

from factory_app.extensions import db
from factory_app.models import Product

from . import factories
from .conftest import count_rows

GOOD = {"sku": "PNL-1200", "name": "Zincalume panel", "description": "0.8 mm", "sale_price": "1,248.5",
        "purchase_cost": "21.3025", "unit": "ea", "taxable": "y"}


def test_create_and_edit_product(app, client):
    assert client.post("/products/new", data=GOOD).status_code == 302
    with app.app_context():
        product = db.session.scalar(select(Product))
        assert product.sale_price == Decimal("1248.5000") and product.purchase_cost == Decimal("21.3025")
        assert product.taxable is True
        product_id = product.id
    edit = dict(GOOD, name="Zincalume panel 1200", taxable="", archived="y")
    del edit["taxable"]
    assert client.post(f"/products/{product_id}", data=edit).status_code == 302
    with app.app_context():
        product = db.session.get(Product, product_id)
        assert product.name == "Zincalume panel 1200" and not product.taxable and product.archived
    assert "PNL-1200" not in client.get("/products").get_data(as_text=True)
    assert "PNL-1200" in client.get("/products?archived=1").get_data(as_text=True)


@pytest.mark.parametrize("field, value, message", [
    ("sale_price", "12.34567", "at most 4 decimal places"),
    ("sale_price", "-1", "less than 0"),
    ("sale_price", "abc", "Enter a number."),
    ("sale_price", "NaN", "Enter a number."),
    ("sale_price", "1e5", "Enter a number."),
    ("purchase_cost", "", "Enter a cost"),
    ("sku", "", "This field is required."),
    ("sku", "X" * 51, "Field cannot be longer than 50 characters."),
    ("sku", "a<b>", "Use letters, digits"),
    ("name", "N" * 256, "Field cannot be longer than 255 characters."),
])
def test_bad_input_gives_field_errors_and_no_row(app, client, field, value, message):
    response = client.post("/products/new", data=dict(GOOD, **{field: value}))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count_rows(app, Product) == 0


def test_sku_is_unique_per_organisation_ignoring_case(app, client, tenant, other_tenant):
    with app.app_context():
        factories.product(other_tenant.org_id, "PNL-1200")
    assert client.post("/products/new", data=GOOD).status_code == 302
    duplicate = client.post("/products/new", data=dict(GOOD, sku="pnl-1200"))
    assert duplicate.status_code == 422
    assert "already uses the code" in duplicate.get_data(as_text=True)
    assert count_rows(app, Product) == 2
