"""Property-based: random form data (and bodies of any shape: JSON, files, repeated
fields, ids beyond a column) posted to every create/edit route never causes a 500, and
a refused form leaves no partial rows behind."""
import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from factory_app.extensions import db
from factory_app.models import (
    Address, ContactPerson, Invoice, Organisation, Party, Product, PurchaseOrder, PurchaseOrderLine,
    SalesOrder, SalesOrderLine, User,
)

from . import factories
from .conftest import HTMX

TABLES = (Organisation, User, Party, Address, ContactPerson, Product, SalesOrder, SalesOrderLine,
          PurchaseOrder, PurchaseOrderLine, Invoice)

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
numberish = st.sampled_from(["", "0", "-1", "1e5", "NaN", "Infinity", "12.34567", "1,000.5", "abc", "9" * 40,
                             "0.0001", "100", "100.001", "$5", "--1", "1.2.3", " 7 "])
value = st.one_of(text, numberish, st.integers().map(str),
                  st.decimals(allow_nan=True, allow_infinity=True).map(str))


def form(*names):
    return st.fixed_dictionaries({}, optional={n: value for n in names})


PARTY_FIELDS = ["name", "email", "phone", "website", "tax_number", "notes", "archived",
                *[f"{k}-{f}" for k in ("postal", "street") for f in ("line1", "line2", "city", "region", "postcode", "country")],
                *[f"people-{i}-{f}" for i in (0, 1, 60) for f in ("id", "name", "email", "phone")]]
LINE_FIELDS = ["product_id", "description", "quantity", "unit_price", "discount_percent", "tax_rate", "changed"]
HEADER_FIELDS = ["customer_id", "order_date", "delivery_date", "reference", "notes", "delivery_notes"]

fuzz = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def counts(app):
    with app.app_context():
        return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in TABLES}


@pytest.fixture()
def world(app, tenant):
    with app.app_context():
        customer = factories.customer(tenant.org_id)
        product = factories.product(tenant.org_id)
        order = factories.order(tenant.org_id, customer.id, lines=[(product.id, "1", "10", "0", "10")])
        return {"client": tenant.client(), "order": order.id, "line": order.lines[0].id,
                "customer": customer.id, "product": product.id}


def post_and_check(app, client, url, data, headers=None, created=None):
    before = counts(app)
    response = client.post(url, data=data, headers=headers or {})
    assert response.status_code < 500, (url, data, response.status_code)
    after = counts(app)
    if response.status_code >= 400:
        assert after == before, (url, data)  # nothing half-written
    elif created:
        assert after[created] == before[created] + 1, (url, data)
    return response


@fuzz
@given(data=form(*PARTY_FIELDS))
def test_customer_form(app, world, data):
    post_and_check(app, world["client"], "/customers/new", data, created="Party")


@fuzz
@given(data=form("name", "email", "phone", "field"))
def test_inline_supplier_form(app, world, data):
    post_and_check(app, world["client"], "/suppliers/inline", data, HTMX)


@fuzz
@given(data=form(*PARTY_FIELDS))
def test_customer_edit(app, world, data):
    post_and_check(app, world["client"], f"/customers/{world['customer']}/edit", data)


@fuzz
@given(data=form("sku", "name", "description", "sale_price", "purchase_cost", "unit", "taxable", "archived"))
def test_product_form(app, world, data):
    post_and_check(app, world["client"], "/products/new", data)


@fuzz
@given(data=form(*HEADER_FIELDS))
def test_order_new_and_header(app, world, data):
    post_and_check(app, world["client"], "/orders/new", data)
    post_and_check(app, world["client"], f"/orders/{world['order']}", data)


@fuzz
@given(data=form(*LINE_FIELDS))
def test_line_update(app, world, data):
    post_and_check(app, world["client"], f"/orders/{world['order']}/lines/{world['line']}", data, HTMX)


@fuzz
@given(data=form("name", "base_currency", "timezone", "default_tax_rate", "payment_terms_days"))
def test_settings_form(app, world, data):
    post_and_check(app, world["client"], "/settings", data)


@fuzz
@given(data=form("organisation", "name", "email", "password", "confirm"))
def test_signup_form(app, data):
    post_and_check(app, app.test_client(), "/signup", data)


def test_nul_bytes_are_refused_not_stored(app, world):
    response = post_and_check(app, world["client"], "/customers/new", {"name": "Nul\x00Co"})
    assert response.status_code == 400


ROUTES = [("/customers/new", PARTY_FIELDS, {}), ("/suppliers/inline", ["name", "email", "phone", "field"], HTMX),
          ("/products/new", ["sku", "name", "sale_price", "purchase_cost"], {}), ("/orders/new", HEADER_FIELDS, {}),
          ("/settings", ["name", "default_tax_rate", "payment_terms_days"], {}),
          ("/signup", ["organisation", "name", "email", "password", "confirm"], {})]
json_value = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | text,
                          lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
                          max_leaves=8)


@fuzz
@given(route=st.sampled_from(ROUTES), data=st.data(),
       shape=st.sampled_from(["json", "file", "repeated", "huge-id"]))
def test_any_body_shape_is_answered_without_a_500(app, world, route, data, shape):
    """The shapes a security review sent: JSON bodies of any kind, a file in a text field,
    a field sent twice, an id beyond what a column holds."""
    url, names, headers = route
    fields = data.draw(form(*names))
    client = world["client"]
    if shape == "json":
        body = data.draw(st.one_of(json_value, st.dictionaries(st.sampled_from(names), json_value)))
        response = client.post(url, data=json.dumps(body), content_type="application/json", headers=headers)
    elif shape == "file":
        target = data.draw(st.sampled_from(names))
        response = client.post(url, headers=headers, content_type="multipart/form-data",
                               data={**fields, target: (io.BytesIO(data.draw(st.binary(max_size=50))), "x.txt")})
    elif shape == "repeated":
        pairs = [(k, v) for k, v in fields.items()] + [(k, v + "2") for k, v in fields.items()]
        response = client.post(url, data=MultiDict(pairs), headers=headers)
    else:
        huge = str(data.draw(st.integers(min_value=2 ** 63, max_value=10 ** 40)))
        response = client.post(url, data={**fields, "customer_id": huge, "product_id": huge}, headers=headers)
        assert client.get(f"/orders/{huge}").status_code == 404
    assert response.status_code < 500, (url, shape, response.status_code)
