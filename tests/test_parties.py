from sqlalchemy import select

from factory_app.extensions import db
from factory_app.models import Address, ContactPerson, Customer, Party, Supplier

from . import factories
from .conftest import HTMX, count_rows

FULL = {
    "name": "Coastal Kitchens Pty Ltd", "email": "accounts@coastal.example", "phone": "02 9555 0101",
    "website": "https://coastal.example", "tax_number": "51 824 753 556", "notes": "Deliver before 7am",
    "postal-line1": "PO Box 118", "postal-city": "Manly", "postal-region": "NSW",
    "postal-postcode": "1655", "postal-country": "Australia",
    "street-line1": "14 Pittwater Rd", "street-city": "Manly",
    "people-0-name": "Grace Lin", "people-0-email": "grace@coastal.example", "people-0-phone": "0412",
    "people-1-name": "Sam Okafor", "people-1-email": "",
    "people-2-name": "", "people-2-email": "",
}


def test_create_customer_with_addresses_and_people(app, client):
    response = client.post("/customers/new", data=FULL)
    assert response.status_code == 302
    with app.app_context():
        party = db.session.scalar(select(Customer))
        assert party.name == "Coastal Kitchens Pty Ltd" and party.tax_number == "51 824 753 556"
        assert party.address("postal").postcode == "1655"
        assert party.address("street").line1 == "14 Pittwater Rd"
        assert [p.name for p in party.people] == ["Grace Lin", "Sam Okafor"]
        assert party.people[1].email is None
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "PO Box 118, Manly, NSW, 1655, Australia" in page and "Grace Lin" in page


def test_edit_removes_people_and_blank_addresses(app, client, tenant):
    client.post("/customers/new", data=FULL)
    with app.app_context():
        party = db.session.scalar(select(Customer))
        grace = party.people[0]
        party_id, grace_id = party.id, grace.id
    edit = client.get(f"/customers/{party_id}/edit").get_data(as_text=True)
    assert 'value="Grace Lin"' in edit and 'value="PO Box 118"' in edit
    data = {"name": "Coastal Kitchens", "people-0-id": str(grace_id), "people-0-name": "Grace Lin-Smith",
            "street-line1": "15 Pittwater Rd", "email": "",
            **{f"postal-{f}": "" for f in Address.FIELDS}}
    assert client.post(f"/customers/{party_id}/edit", data=data).status_code == 302
    with app.app_context():
        party = db.session.get(Customer, party_id)
        assert [(p.id, p.name) for p in party.people] == [(grace_id, "Grace Lin-Smith")]
        assert party.address("postal") is None and party.address("street").line1 == "15 Pittwater Rd"
        assert party.email is None
    assert count_rows(app, ContactPerson) == 1
    assert count_rows(app, Address) == 1


def test_invalid_form_keeps_input_shows_errors_and_writes_nothing(app, client):
    data = dict(FULL, name="", email="not-an-email", **{"postal-postcode": "9" * 21})
    response = client.post("/customers/new", data=data)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "This field is required." in body
    assert "Invalid email address." in body
    assert 'value="PO Box 118"' in body and 'value="Grace Lin"' in body
    assert count_rows(app, Party) == 0 and count_rows(app, ContactPerson) == 0


def test_search_as_you_type_returns_rows_partial(app, client, tenant):
    with app.app_context():
        factories.customer(tenant.org_id, "Coastal Kitchens", email="a@coastal.example")
        factories.customer(tenant.org_id, "Ridgeline Builders", phone="02 4555 0199")
        factories.customer(tenant.org_id, "Old Mate Ltd", archived=True)
        factories.supplier(tenant.org_id, "Coastal Steel")
    partial = client.get("/customers?q=coast", headers={**HTMX, "HX-Target": "party-rows"})
    body = partial.get_data(as_text=True)
    assert "<html" not in body and "Coastal Kitchens" in body
    assert "Ridgeline" not in body and "Coastal Steel" not in body
    assert "Vary" in partial.headers and "HX-Request" in partial.headers["Vary"]
    assert "Ridgeline" in client.get("/customers?q=4555").get_data(as_text=True)
    full = client.get("/customers").get_data(as_text=True)
    assert "<html" in full and "Old Mate" not in full
    assert "Old Mate" in client.get("/customers?archived=1").get_data(as_text=True)
    assert "Coastal Steel" in client.get("/suppliers").get_data(as_text=True)


def test_inline_form_opens_validates_in_place_and_selects_the_new_customer(app, client, tenant):
    with app.app_context():
        factories.customer(tenant.org_id, "Existing Co")
    form = client.get("/customers/inline?field=customer_id", headers=HTMX)
    assert form.status_code == 200
    assert 'hx-post="/customers/inline"' in form.get_data(as_text=True)

    bad = client.post("/customers/inline", data={"name": "", "email": "x@", "field": "customer_id"}, headers=HTMX)
    assert bad.status_code == 422
    assert "This field is required." in bad.get_data(as_text=True)
    assert count_rows(app, Customer) == 1

    good = client.post("/customers/inline", data={"name": "Bayside Air", "email": "office@bayside.example",
                                                   "field": "customer_id"}, headers=HTMX)
    assert good.status_code == 200
    body = good.get_data(as_text=True)
    with app.app_context():
        new = db.session.scalar(select(Customer).where(Customer.name == "Bayside Air"))
    assert 'id="customer_id-picker" hx-swap-oob="true"' in body
    assert f'name="customer_id" id="customer_id" value="{new.id}" form="doc-form"' in body  # chosen
    assert 'value="Bayside Air"' in body
    assert "Existing Co" not in body  # the picker carries its choice, never the whole list
    assert "was added and selected" in good.headers["HX-Trigger"]


def test_inline_supplier_form_ignores_a_forged_field_name(app, client):
    response = client.post("/suppliers/inline", data={"name": "Fastenings Direct", "field": "x onmouseover=alert(1)"},
                           headers=HTMX)
    assert response.status_code == 200
    assert 'name="supplier_id"' in response.get_data(as_text=True)
    assert count_rows(app, Supplier) == 1


def test_person_row_partial(client):
    row = client.get("/customers/person-row?index=4", headers=HTMX).get_data(as_text=True)
    assert 'name="people-4-name"' in row
    assert client.get("/customers/person-row?index=abc").status_code == 400


def test_a_customers_page_leads_to_its_orders_and_invoices_only(app, client, tenant):
    from . import factories
    with app.app_context():
        mine = factories.customer(tenant.org_id, "Coastal Kitchens")
        other = factories.customer(tenant.org_id, "Ridgeline Builders")
        ours = factories.order(tenant.org_id, mine.id, lines=[(None, "1", "10", "0", "10")], status="invoiced").number
        theirs = factories.order(tenant.org_id, other.id, lines=[(None, "1", "10", "0", "10")], status="invoiced").number
        mine_id = mine.id
    page = client.get(f"/customers/{mine_id}").get_data(as_text=True)
    assert f'href="/orders?customer_id={mine_id}"' in page and f'href="/orders/invoices?customer_id={mine_id}"' in page
    orders = client.get(f"/orders?customer_id={mine_id}").get_data(as_text=True)
    assert ours in orders and theirs not in orders and "Coastal Kitchens" in orders
    invoices = client.get(f"/orders/invoices?customer_id={mine_id}").get_data(as_text=True)
    assert "INV-0001" in invoices and "INV-0002" not in invoices
