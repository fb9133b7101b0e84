"""The Xero adapter's translations (providers/xero/mapping.py), on payloads shaped like Xero's (no server needed)."""
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from factory_app.accounting.providers.xero import mapping as xero
from factory_app.accounting.base import RecordProblem, RetriableError
from factory_app.accounting.providers.xero.mapping import MalformedRecord, parse_xero_datetime


def test_ms_json_and_iso_dates():
    assert parse_xero_datetime("/Date(1573755038314+0000)/") == datetime(2019, 11, 14, 18, 10, 38, 314000, tzinfo=timezone.utc)
    assert parse_xero_datetime("2026-11-28T03:00:00") == datetime(2026, 11, 28, 3, tzinfo=timezone.utc)
    assert parse_xero_datetime(None) is None and parse_xero_datetime("nonsense") is None


def test_contact_mapping_keeps_addresses_phones_people():
    contact = xero.contact({
        "ContactID": "c1", "Name": "Coastal Kitchens Pty Ltd", "EmailAddress": "accounts@coastal.example",
        "ContactStatus": "ACTIVE", "IsCustomer": True, "IsSupplier": False, "TaxNumber": "51 824 753 556",
        "Addresses": [
            {"AddressType": "POBOX", "AddressLine1": "PO Box 118", "City": "Manly", "Region": "NSW",
             "PostalCode": "1655", "Country": "Australia"},
            {"AddressType": "STREET", "AddressLine1": "Unit 3", "AddressLine2": "14 Pittwater Rd", "City": "Manly"},
            {"AddressType": "STREET"},
        ],
        "Phones": [{"PhoneType": "FAX", "PhoneNumber": "1"}, {"PhoneType": "MOBILE", "PhoneNumber": "0412 555 101"},
                   {"PhoneType": "DEFAULT", "PhoneAreaCode": "02", "PhoneNumber": "9555 0101"}],
        "ContactPersons": [{"FirstName": "Grace", "LastName": "Lin", "EmailAddress": "grace@coastal.example"},
                           {"FirstName": "", "LastName": ""}],
        "UpdatedDateUTC": "/Date(1764290000000+0000)/",
    })
    assert contact.phone == "02 9555 0101"  # DEFAULT first
    assert [a.kind for a in contact.addresses] == ["postal", "street"]
    assert contact.addresses[1].line1 == "Unit 3" and contact.addresses[1].line2 == "14 Pittwater Rd"
    assert [(p.name, p.email) for p in contact.people] == [("Grace Lin", "grace@coastal.example")]
    assert contact.is_customer and not contact.is_supplier and not contact.archived
    assert contact.updated_at.tzinfo is timezone.utc
    assert xero.contact({"ContactID": "x", "Name": "Old", "ContactStatus": "ARCHIVED"}).archived


def test_payment_state_is_decimal():
    state = xero.payment_state({"InvoiceID": "i1", "InvoiceNumber": "INV-0007", "Status": "AUTHORISED",
                            "Total": Decimal("749.10"), "AmountPaid": Decimal("500.00"), "AmountDue": Decimal("249.10"),
                            "Payments": [{"Date": "/Date(1764720000000+0000)/", "Amount": Decimal("500.00")}]})
    assert state.has_payments and state.amount_due == Decimal("249.10")
    assert state.last_payment_date.date().isoformat() == "2025-12-03"


# --- records Xero sends in a shape its types don't allow ------------------------------

GOOD = {"ContactID": "c1", "Name": "Coastal Kitchens", "EmailAddress": "a@coastal.example", "IsCustomer": True,
        "Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": "9555 0101", "PhoneAreaCode": "02"}],
        "Addresses": [{"AddressType": "STREET", "AddressLine1": "14 Pittwater Rd", "City": "Manly"}],
        "ContactPersons": [{"FirstName": "Grace", "LastName": "Lin", "EmailAddress": "g@coastal.example"}],
        "UpdatedDateUTC": "/Date(1764290000000+0000)/"}


@pytest.mark.parametrize("change, reason", [
    # the seven shapes of issue 10, item 11
    ({"Name": 123}, "Name is not text"),
    ({"Name": ["Coastal Kitchens"]}, "Name is not text"),
    ({"Phones": "02 9555 0101"}, "Phones is not a list"),
    ({"Phones": ["02 9555 0101"]}, "Phones holds something that is not a phone"),
    ({"Addresses": {"AddressType": "STREET", "City": "Manly"}}, "Addresses is not a list"),
    ({"ContactPersons": ["Grace Lin"]}, "ContactPersons holds something that is not a contact person"),
    ({"EmailAddress": 5}, "EmailAddress is not text"),
    # the same rule for every other value Factory takes
    ({"ContactID": None}, "ContactID is missing"),
    ({"ContactID": 42}, "ContactID is not text"),
    ({"Website": 5}, "Website is not text"),
    ({"TaxNumber": 51824753556}, "TaxNumber is not text"),
    ({"ContactStatus": ["ARCHIVED"]}, "ContactStatus is not text"),
    ({"IsCustomer": "false"}, "IsCustomer is not true or false"),
    ({"UpdatedDateUTC": 1764290000000}, "UpdatedDateUTC is not a date"),
    ({"UpdatedDateUTC": "last Tuesday"}, "UpdatedDateUTC is not a date"),
    ({"Phones": {}}, "Phones is not a list"),
    ({"Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": 95550101}]}, "PhoneNumber of a phone is not text"),
    ({"Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": "9555", "PhoneAreaCode": 2}]},
     "PhoneAreaCode of a phone is not text"),
    ({"Addresses": [{"AddressType": "STREET", "City": 2095}]}, "City of an address is not text"),
    ({"Addresses": [{"AddressType": "STREET", "AddressLine1": ["14 Pittwater Rd"]}]},
     "AddressLine1 of an address is not text"),
    ({"Addresses": [{"AddressType": "STREET", "AddressLine1": "a", "AddressLine2": 14}]},
     "AddressLine2 of an address is not text"),
    ({"Addresses": [{"AddressType": ["STREET"]}]}, "AddressType of an address is not text"),
    ({"ContactPersons": [{"FirstName": "Grace", "EmailAddress": 5}]},
     "EmailAddress of a contact person is not text"),
    ({"ContactPersons": [{"FirstName": 7}]}, "FirstName of a contact person is not text"),
    ({"ContactPersons": "Grace Lin"}, "ContactPersons is not a list"),
])
def test_a_contact_in_a_shape_xero_does_not_send_is_not_read(change, reason):
    row = {**GOOD, **change}
    with pytest.raises(MalformedRecord) as raised:
        xero.contact(row)
    problem = raised.value.problem
    assert problem.reason == reason
    assert problem.remote_id == (row["ContactID"] if isinstance(row["ContactID"], str) else
                                 None if row["ContactID"] is None else repr(row["ContactID"]))
    assert problem.name == (row["Name"] if isinstance(row["Name"], str) else None)
    assert raised.value.message == f"Xero sent this contact in a shape Factory can't read ({reason})."
    assert isinstance(raised.value, RetriableError)  # a single read, or a write's answer: try again later


def test_a_contact_that_is_not_an_object_and_a_good_one_still_read():
    with pytest.raises(MalformedRecord) as raised:
        xero.contact(["c1", "Coastal"])
    assert raised.value.problem == RecordProblem(None, None, "it is not an object")
    contact = xero.contact(GOOD)
    assert (contact.name, contact.email, contact.phone) == ("Coastal Kitchens", "a@coastal.example", "02 9555 0101")
    assert contact.people[0].email == "g@coastal.example" and contact.addresses[0].city == "Manly"
    # what Xero leaves empty is empty, not malformed
    empty = xero.contact({"ContactID": "c2", "Name": None, "EmailAddress": "", "Phones": [], "Addresses": None,
                      "ContactPersons": [], "UpdatedDateUTC": ""})
    assert (empty.name, empty.email, empty.phone, empty.addresses, empty.people, empty.updated_at) == \
        ("", None, None, (), (), None)


def test_a_list_read_keeps_the_good_records_of_a_page():
    rows = [GOOD, {**GOOD, "ContactID": "c2", "Phones": "x"}, {**GOOD, "ContactID": "c3", "Name": "Other"}]
    contacts, failures = xero.read_each(rows, xero.contact)
    assert [c.remote_id for c in contacts] == ["c1", "c3"]
    assert failures == [RecordProblem("c2", "Coastal Kitchens", "Phones is not a list")]


def test_items_accounts_tax_rates_and_payment_states_each_read_on_their_own():
    with pytest.raises(MalformedRecord) as raised:
        xero.item({"ItemID": "i1", "Code": 1200, "Name": "Panel"})
    assert raised.value.problem == RecordProblem("i1", "Panel", "Code is not text")
    for row, reason in (({"Code": "X"}, "ItemID is missing"), ({"ItemID": "i", "Code": "X", "SalesDetails": []},
                                                                "SalesDetails is not an object"),
                        ({"ItemID": "i", "Code": "X", "SalesDetails": {"UnitPrice": "48.50"}},
                         "UnitPrice of SalesDetails is not a number"),
                        ({"ItemID": "i", "Code": "X", "PurchaseDetails": {"TaxType": 10}},
                         "TaxType of PurchaseDetails is not text")):
        with pytest.raises(MalformedRecord) as raised:
            xero.item(row)
        assert raised.value.problem.reason == reason
    with pytest.raises(MalformedRecord) as raised:
        xero.account({"AccountID": "a1", "Code": 200, "Name": "Sales"})
    assert raised.value.problem == RecordProblem("a1", "Sales", "Code is not text")
    with pytest.raises(MalformedRecord) as raised:
        xero.account({"AccountID": "a1", "Code": "200", "Name": "Sales", "Type": ["REVENUE"]})
    assert raised.value.problem.reason == "Type is not text"
    for row, reason in (({"TaxType": "OUTPUT", "Name": "GST", "EffectiveRate": "10"}, "EffectiveRate is not a number"),
                        ({"TaxType": "OUTPUT", "Name": "GST"}, "EffectiveRate is missing"),
                        ({"TaxType": "OUTPUT", "EffectiveRate": 10, "CanApplyToRevenue": "yes"},
                         "CanApplyToRevenue is not true or false"),
                        ({"Name": "GST", "EffectiveRate": 10}, "TaxType is missing")):
        with pytest.raises(MalformedRecord) as raised:
            xero.tax_rate(row)
        assert raised.value.problem.reason == reason
    good = {"InvoiceID": "i1", "InvoiceNumber": "INV-0007", "Status": "AUTHORISED", "Total": Decimal("749.10"),
            "AmountPaid": Decimal("500.00"), "AmountDue": Decimal("249.10")}
    for change, reason in (({"Total": "749.10"}, "Total is not a number"), ({"AmountDue": None}, "AmountDue is missing"),
                           ({"AmountPaid": True}, "AmountPaid is not a number"),
                           ({"AmountDue": float("nan")}, "AmountDue is not a number"),
                           ({"AmountDue": Decimal("Infinity")}, "AmountDue is not a number"),
                           ({"Payments": {"Date": "/Date(1764720000000+0000)/"}}, "Payments is not a list"),
                           ({"Payments": [{"Date": 1764720000000}]}, "Date of a payment is not a date"),
                           ({"InvoiceNumber": 7}, "InvoiceNumber is not text")):
        with pytest.raises(MalformedRecord) as raised:
            xero.payment_state({**good, **change})
        assert raised.value.problem.reason == reason and raised.value.problem.remote_id == "i1"
        assert raised.value.message.startswith("Xero sent this invoice in a shape Factory can't read")


def test_items_carry_their_own_accounts_and_tax_types():
    item = xero.item({"ItemID": "i1", "Code": "PNL-1200", "Name": "Panel", "UpdatedDateUTC": "/Date(1764290000000+0000)/",
                  "SalesDetails": {"UnitPrice": Decimal("48.50"), "AccountCode": "200", "TaxType": "OUTPUT"},
                  "PurchaseDetails": {"UnitPrice": 21, "AccountCode": "300", "TaxType": "INPUT"}})
    assert (item.sales_account_code, item.sales_tax_type, item.purchase_account_code, item.purchase_tax_type) == \
        ("200", "OUTPUT", "300", "INPUT")
    assert item.sale_price == Decimal("48.50") and item.purchase_cost == Decimal("21")
    labour = xero.item({"ItemID": "i2", "Code": "FAB-HR", "SalesDetails": {"UnitPrice": 95}, "PurchaseDetails": {}})
    assert (labour.sales_account_code, labour.purchase_account_code, labour.purchase_cost) == (None, None, None)


def test_tax_rates_say_whether_they_apply_to_sales_and_purchases():
    output = xero.tax_rate({"TaxType": "OUTPUT", "Name": "GST on Income", "Status": "ACTIVE", "EffectiveRate": Decimal("10"),
                        "CanApplyToRevenue": True, "CanApplyToExpenses": False})
    assert (output.rate, output.applies_to_sales, output.applies_to_purchases, output.archived) == \
        (Decimal("10"), True, False, False)
    unknown = xero.tax_rate({"TaxType": "BASEXCLUDED", "Name": "BAS Excluded", "Status": "ACTIVE", "DisplayTaxRate": 0})
    assert (unknown.rate, unknown.applies_to_sales, unknown.applies_to_purchases) == (Decimal("0"), True, True)


@pytest.mark.parametrize("value", [
    "/Date(1573755038314+0000)/", "/Date(0+0000)/", "/Date(-1000+0000)/", "/Date(1573755038314)/",
    "/Date(1573755038314+1000)/", "/Date(1_000+0000)/", "/Date( 12+0000)/", "/Date(+12+0000)/",
    "/Date(\u0661\u0662+0000)/", "/Date(\u00b2+0000)/", "/Date(+0000)/", "x/Date(1+0000)/",
])
def test_the_quick_reading_of_xero_times_is_the_regex_reading(value):
    match = xero.MS_DATE.match(value)  # none of these is an ISO time either
    assert parse_xero_datetime(value) == (
        datetime.fromtimestamp(int(match.group(1)) / 1000, tz=timezone.utc) if match else None)
