"""Settings > Organisation refuses odd values with a field error, never a 500 (issue 10,
item 10: "/settings with a blank default tax rate"). The cause: InputRequired looks at
what was typed, and the decimal field reads " ", "$" or "," as no number (None), which
went on to the NOT NULL column."""
from decimal import Decimal

import pytest

from factory_app.extensions import db
from factory_app.models import Organisation

GOOD = {"name": "Acme Fabrication", "base_currency": "AUD", "timezone": "Australia/Sydney",
        "default_tax_rate": "10", "payment_terms_days": "30"}
MISSING = object()


def post(client, **changes):
    data = dict(GOOD)
    for key, value in changes.items():
        if value is MISSING:
            data.pop(key)
        else:
            data[key] = value
    return client.post("/settings", data=data)


def saved(app, tenant):
    with app.app_context():
        org = db.session.get(Organisation, tenant.org_id)
        return org.default_tax_rate, org.payment_terms_days


@pytest.mark.parametrize("value, error", [
    ("", "Enter a rate (0 is fine)."), (" ", "Enter a rate (0 is fine)."), ("$", "Enter a number."),
    (",", "Enter a number."), (" $ , ", "Enter a number."), (MISSING, "Enter a rate (0 is fine)."),
    ("abc", "Enter a number."), ("NaN", "Enter a number."), ("1e5", "Enter a number."), ("-", "Enter a number."),
    ("-1", "Can&#39;t be less than 0."), ("100.5", "Can&#39;t be more than 100."),
    ("10.0001", "Use at most 3 decimal places."), ("9" * 40, "Enter a number."),
])
def test_odd_tax_rates_are_field_errors(app, tenant, value, error):
    response = post(tenant.client(), default_tax_rate=value)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert error in body
    assert body.count('class="error"') == 1  # one message, not two
    assert saved(app, tenant) == (Decimal("10"), 30)


@pytest.mark.parametrize("value", ["", " ", "abc", "1.5", "1e3", "-1", "366", "9" * 40, MISSING, "٣"])
def test_odd_payment_terms_are_field_errors(app, tenant, value):
    response = post(tenant.client(), payment_terms_days=value)
    if value == "٣":  # Python reads Arabic-Indic digits as the number they are: 3 days, fine
        assert response.status_code == 302
        assert saved(app, tenant) == (Decimal("10"), 3)
        return
    assert response.status_code == 422
    assert 'class="error"' in response.get_data(as_text=True)
    assert saved(app, tenant) == (Decimal("10"), 30)


def test_good_values_are_saved(app, tenant):
    assert post(tenant.client(), default_tax_rate="0", payment_terms_days="0").status_code == 302
    assert saved(app, tenant) == (Decimal("0"), 0)
    assert post(tenant.client(), default_tax_rate=" 12.5 ", payment_terms_days="365").status_code == 302
    assert saved(app, tenant) == (Decimal("12.5"), 365)


def test_document_numbers_move_forward_only(app, tenant, client):
    """Issue 10 item 16's way out of a number the package has already: Factory's next
    invoice number can be moved past it, never back onto numbers Factory has used."""
    from . import factories
    with app.app_context():
        customer = factories.customer(tenant.org_id)
        factories.order(tenant.org_id, customer.id, lines=[(None, "1", "5", "0", "0")], status="invoiced")
    form = {"name": "Acme Fabrication", "base_currency": "AUD", "timezone": "Australia/Sydney",
            "default_tax_rate": "10", "payment_terms_days": "30", "next_order_number": "2",
            "next_purchase_number": "1"}
    back = client.post("/settings", data={**form, "next_invoice_number": "1", "name": "Renamed"})
    assert back.status_code == 422 and "Numbers below 2 are taken already: choose 2 or more." in back.get_data(as_text=True)
    with app.app_context():
        org = db.session.get(Organisation, tenant.org_id)
        assert (org.name, org.next_invoice_number) == ("Acme Fabrication", 2)  # nothing of it saved
    assert client.post("/settings", data={**form, "next_invoice_number": "485"}).status_code == 302
    with app.app_context():
        customer = factories.customer(tenant.org_id, "Second Customer")
        order = factories.order(tenant.org_id, customer.id, lines=[(None, "1", "5", "0", "0")], status="invoiced")
        assert order.invoice.number == "INV-0485"
