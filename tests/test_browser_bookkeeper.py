"""The bookkeeper's page of the sandbox (its ledger), in the browser, one test per
action: what a bookkeeper does in the package while Factory is connected to it. Each
change is then read back through the package's API, as Factory would see it. A name
typed in by an API client (here with markup in it) shows as text."""
from __future__ import annotations

import pytest

from sandbox.core.testing import SandboxServer

from .support.sandbox import CLIENT, HARBOUR_ID, SECRET, Api, connect
from .test_browser import browser_page

pytestmark = pytest.mark.browser
HOSTILE = "Coastal <b>Kitchens</b> & Co"


@pytest.fixture()
def books(tmp_path):
    with SandboxServer(tmp_path / "s.db", CLIENT, SECRET, test_controls=True) as server:
        tokens = connect(server.url)
        yield server, Api(server.url, tokens["access_token"])


@pytest.fixture()
def ledger(books):
    server, _ = books
    with browser_page(viewport={"width": 1280, "height": 900}) as page:
        page.goto(f"{server.url}/ledger")
        yield page


def new_contact(api: Api, name: str = HOSTILE) -> dict:
    answer = api.put("/Contacts", {"Contacts": [{"Name": name, "EmailAddress": "ap@coastal.example"}]})
    assert answer.status_code == 200, answer.text
    return answer.json()["Contacts"][0]


def new_invoice(api: Api, status: str, number: str) -> dict:
    contact = new_contact(api, f"Buyer of {number}")
    answer = api.put("/Invoices", {"Invoices": [{
        "Type": "ACCREC", "Contact": {"ContactID": contact["ContactID"]}, "Date": "2026-12-01",
        "DueDate": "2026-12-31", "InvoiceNumber": number, "Status": status, "LineAmountTypes": "Exclusive",
        "LineItems": [{"Description": "Panel", "Quantity": 2, "UnitAmount": 48.5, "AccountCode": "200",
                       "TaxType": "OUTPUT"}]}]})
    assert answer.status_code == 200, answer.text
    return answer.json()["Invoices"][0]


def invoice_status(api: Api, invoice: dict) -> str:
    return api.get(f"/Invoices/{invoice['InvoiceID']}").json()["Invoices"][0]["Status"]


def press(page, row_text: str, button: str) -> str:
    page.goto(page.url.split("?")[0])
    page.locator("tr", has_text=row_text).first.locator(f"button:has-text('{button}')").click()
    page.wait_for_load_state()
    return page.locator("p.message").inner_text()


def test_the_bookkeeper_approves_a_draft(books, ledger):
    _, api = books
    draft = new_invoice(api, "DRAFT", "INV-DRAFT-1")
    assert press(ledger, "INV-DRAFT-1", "Approve") == "Approved."
    assert invoice_status(api, draft) == "AUTHORISED"


def test_the_bookkeeper_deletes_a_draft(books, ledger):
    _, api = books
    draft = new_invoice(api, "DRAFT", "INV-DRAFT-2")
    assert press(ledger, "INV-DRAFT-2", "Delete") == "Deleted."
    assert invoice_status(api, draft) == "DELETED"


def test_the_bookkeeper_voids_an_unpaid_invoice_and_a_paid_one_offers_no_void(books, ledger):
    _, api = books
    invoice = new_invoice(api, "AUTHORISED", "INV-AUTH-1")
    assert press(ledger, "INV-AUTH-1", "Void") == "Voided."
    assert invoice_status(api, invoice) == "VOIDED"
    paid = new_invoice(api, "AUTHORISED", "INV-AUTH-2")
    assert press(ledger, "INV-AUTH-2", "Apply payment") == "Payment applied."
    assert api.get(f"/Invoices/{paid['InvoiceID']}").json()["Invoices"][0]["AmountPaid"] > 0
    row = ledger.locator("tr", has_text="INV-AUTH-2").first
    assert row.locator("button:has-text('Void')").count() == 0  # Xero: remove the payment first


def test_the_bookkeeper_credits_part_of_an_invoice(books, ledger):
    """A credit note for part of an invoice: the invoice owes that much less, the note is
    a row of its own, and the invoice can no longer be voided."""
    _, api = books
    invoice = new_invoice(api, "AUTHORISED", "INV-CREDIT-1")  # 97.00 + 9.70 GST
    ledger.goto(ledger.url.split("?")[0])
    row = ledger.locator("tr", has_text="INV-CREDIT-1").first
    row.get_by_label("Credit amount").fill("26.70")
    row.locator("button:has-text('Credit')").click()
    ledger.wait_for_load_state()
    assert ledger.locator("p.message").inner_text() == "Credit note made and allocated."
    after = api.get(f"/Invoices/{invoice['InvoiceID']}").json()["Invoices"][0]
    assert (after["AmountCredited"], after["AmountDue"]) == (26.7, 80)
    note = ledger.locator(f"#invoice-{after['CreditNotes'][0]['CreditNoteID']}")
    assert note.locator("> td").nth(1).inner_text() == "Credit note" and "PAID" in note.inner_text()
    assert ledger.locator("tr", has_text="INV-CREDIT-1").first.locator("button:has-text('Void')").count() == 0


def test_the_bookkeeper_renames_a_contact_and_names_show_as_text(books, ledger):
    _, api = books
    contact = new_contact(api)
    ledger.reload()
    row = ledger.locator("tr", has_text=HOSTILE).first  # the markup is text, not bold
    assert row.locator("b").count() == 0
    row.get_by_label(f"New name for {HOSTILE}").fill("Coastal Galley Supplies")
    row.locator("button:has-text('Rename')").click()
    ledger.wait_for_load_state()
    assert ledger.locator("p.message").inner_text() == "Renamed."
    assert api.get(f"/Contacts/{contact['ContactID']}").json()["Contacts"][0]["Name"] == "Coastal Galley Supplies"
    row = ledger.locator("tr", has_text="Coastal Galley Supplies").first
    row.get_by_label("New name for Coastal Galley Supplies").fill("")
    row.locator("button:has-text('Rename')").click()
    ledger.wait_for_load_state()
    assert ledger.locator("p.message").inner_text() == "Refused: A contact needs a name."
    row = ledger.locator("tr", has_text="Coastal Galley Supplies").first
    row.get_by_label("New name for Coastal Galley Supplies").fill("Coastal Kitchens Pty Ltd")  # another's name
    row.locator("button:has-text('Rename')").click()
    ledger.wait_for_load_state()
    assert "must be unique across all active contacts" in ledger.locator("p.message").inner_text()


def test_the_bookkeeper_archives_and_restores_a_contact(books, ledger):
    _, api = books
    contact = new_contact(api, "Ridgeline Builders (to archive)")
    assert press(ledger, "Ridgeline Builders (to archive)", "Archive") == "Archived."
    assert api.get(f"/Contacts/{contact['ContactID']}").json()["Contacts"][0]["ContactStatus"] == "ARCHIVED"
    assert press(ledger, "Ridgeline Builders (to archive)", "Restore") == "Restored."
    assert api.get(f"/Contacts/{contact['ContactID']}").json()["Contacts"][0]["ContactStatus"] == "ACTIVE"


def test_the_bookkeeper_removes_factory_from_the_connected_apps(books, ledger):
    _, api = books
    assert api.get("/Organisation").status_code == 200
    ledger.locator("ul.apps").first.locator("button:has-text('Remove')").click()
    ledger.wait_for_load_state()
    assert ledger.locator("p.message").inner_text().startswith("Factory was removed from the connected apps")
    assert "No connected apps" in ledger.locator("ul.apps").first.inner_text()
    assert api.get("/Organisation").status_code == 403  # Factory's calls are refused now


def test_the_bookkeeper_removes_a_payment_and_the_invoice_is_owed_again(books, ledger):
    _, api = books
    invoice = new_invoice(api, "AUTHORISED", "INV-PAID-1")
    assert press(ledger, "INV-PAID-1", "Apply payment") == "Payment applied."  # the whole amount due
    assert invoice_status(api, invoice) == "PAID"
    assert press(ledger, "INV-PAID-1", "Remove payment of") == "Payment removed."
    after = api.get(f"/Invoices/{invoice['InvoiceID']}").json()["Invoices"][0]
    assert (after["Status"], after["AmountPaid"], after["AmountDue"], after.get("Payments") or []) == \
        ("AUTHORISED", 0, after["Total"], [])


def test_the_bookkeeper_opens_a_document_onto_its_lines_tax_and_totals(books, ledger):
    _, api = books
    invoice = new_invoice(api, "AUTHORISED", "INV-LINES-1")
    ledger.reload()
    document = ledger.locator(f"#invoice-{invoice['InvoiceID']} details")
    document.locator("summary").click()
    lines = document.locator("table.lines")
    assert lines.is_visible()
    text = lines.inner_text()
    assert "Panel" in text and "OUTPUT" in text and "48.50" in text and "97.00" in text  # 2 x 48.50
    assert "Tax\t9.70" in text and "106.70" in text  # GST 10 % on 97.00, and the total


def test_the_bookkeeper_sees_a_contacts_phones_addresses_and_people(books, ledger):
    _, api = books
    answer = api.put("/Contacts", {"Contacts": [{
        "Name": "Elwood Cooling Services", "Phones": [{"PhoneType": "DEFAULT", "PhoneAreaCode": "03",
                                                        "PhoneNumber": "9555 0101"}],
        "Addresses": [{"AddressType": "STREET", "AddressLine1": "4 Marine Pde", "City": "Elwood",
                       "Region": "VIC", "PostalCode": "3184"}],
        "ContactPersons": [{"FirstName": "Jo", "LastName": "Tran", "EmailAddress": "jo@bayside.example"}]}]})
    assert answer.status_code == 200, answer.text
    ledger.reload()
    contact = ledger.locator("tr", has_text="Elwood Cooling Services").first.locator("details")
    contact.locator("summary").click()
    details = contact.locator("ul.details").inner_text()
    assert "Phone: 03 9555 0101" in details
    assert "Address: 4 Marine Pde, Elwood, VIC, 3184 (street)" in details
    assert "Person: Jo Tran <jo@bayside.example>" in details


def misbehave(ledger, how: str, minutes: str = "5") -> str:
    ledger.goto(ledger.url.split("?")[0])
    ledger.get_by_label("How").select_option(how)
    ledger.get_by_label("Minutes").fill(minutes)
    ledger.locator("button:has-text('Start')").click()
    ledger.wait_for_load_state()
    return ledger.locator("p.message").inner_text()


def test_the_bookkeeper_takes_the_package_down_for_a_while_and_stops_it(books, ledger):
    _, api = books
    assert misbehave(ledger, "down") == "The package is down (503 to every call) for 5 minutes."
    assert "Misbehaving: down" in ledger.locator("#behaviour").inner_text()  # the page itself still answers
    assert [api.get("/Organisation").status_code for _ in range(3)] == [503, 503, 503]
    ledger.locator("button:has-text('Stop')").click()
    ledger.wait_for_load_state()
    assert ledger.locator("p.message").inner_text() == "The package behaves again."
    assert api.get("/Organisation").status_code == 200


def test_the_bookkeeper_puts_the_package_over_its_rate_limit(books, ledger):
    _, api = books
    assert misbehave(ledger, "limited", "0.5") == "The package is over its rate limit (429 to every call) for 0.5 minutes."
    answer = api.get("/Contacts")
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "30"


def test_the_bookkeeper_revokes_every_refresh_token(books, ledger):
    from .support.sandbox import refresh
    server, _ = books
    tokens = connect(server.url)
    assert misbehave(ledger, "revoke").startswith("Every refresh token was revoked")
    answer = refresh(server.url, tokens["refresh_token"])
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_the_bookkeeper_changes_a_contacts_email(books, ledger):
    _, api = books
    contact = new_contact(api, "Westside Ducting")
    ledger.reload()
    row = ledger.locator("tr", has_text="Westside Ducting").first
    row.get_by_label("Email of Westside Ducting").fill("accounts@westside.example")
    row.locator("button:has-text('Save email')").click()
    ledger.wait_for_load_state()
    assert ledger.locator("p.message").inner_text() == "Email saved."
    assert api.get(f"/Contacts/{contact['ContactID']}").json()["Contacts"][0]["EmailAddress"] == \
        "accounts@westside.example"


def item_by_code(api: Api, code: str) -> dict | None:
    return next((i for i in api.get("/Items").json()["Items"] if i["Code"] == code), None)


def test_the_bookkeeper_creates_an_item(books, ledger):
    _, api = books
    form = ledger.locator(f"#org-{HARBOUR_ID} form[action='/ledger/items']")
    form.get_by_label("Code of the new item").fill("BRK-45")
    form.get_by_label("Name of the new item").fill(HOSTILE)  # a name as text, not markup
    form.get_by_label("Sale price of the new item").fill("18.75")
    form.locator("button:has-text('Create item')").click()
    ledger.wait_for_load_state()
    assert ledger.locator("p.message").inner_text() == "Item created."
    item = item_by_code(api, "BRK-45")
    assert item["Name"] == HOSTILE and item["IsSold"] and not item["IsPurchased"]
    assert str(item["SalesDetails"]["UnitPrice"]) in ("18.75", "18.750")
    assert ledger.locator("form[action$='/edit'] b").count() == 0
    # a second item of that code is refused, as Xero refuses it
    form = ledger.locator(f"#org-{HARBOUR_ID} form[action='/ledger/items']")
    form.get_by_label("Code of the new item").fill("brk-45")
    form.get_by_label("Name of the new item").fill("Bracket again")
    form.locator("button:has-text('Create item')").click()
    ledger.wait_for_load_state()
    assert ledger.locator("p.message").inner_text() == "Not created: Item code 'brk-45' already exists."


def test_the_bookkeeper_edits_an_items_name_and_price(books, ledger):
    _, api = books
    before = item_by_code(api, "PNL-1200")
    row = ledger.locator(f"#item-{before['ItemID']}")
    row.get_by_label("Name of PNL-1200").fill("Zincalume panel 1200 x 600 (2027)")
    row.get_by_label("Sale price of PNL-1200").fill("52.00")
    row.locator("button:has-text('Save')").click()
    ledger.wait_for_load_state()
    assert ledger.locator("p.message").inner_text() == "Item saved."
    after = item_by_code(api, "PNL-1200")
    assert after["Name"] == "Zincalume panel 1200 x 600 (2027)" and float(after["SalesDetails"]["UnitPrice"]) == 52.0
    assert after["PurchaseDetails"] == before["PurchaseDetails"] and after["UpdatedDateUTC"] != before["UpdatedDateUTC"]
    row = ledger.locator(f"#item-{before['ItemID']}")
    row.get_by_label("Sale price of PNL-1200").fill("lots")
    row.locator("button:has-text('Save')").click()
    ledger.wait_for_load_state()
    assert ledger.locator("p.message").inner_text() == "Not saved: The sale price must be a number of at least 0."
