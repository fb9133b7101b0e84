"""The Xero adapter's translations, on payloads shaped like Xero's (no server needed)."""
from datetime import datetime, timezone
from decimal import Decimal

from factory_app.accounting.xero import _contact, _payment_state, parse_xero_datetime


def test_ms_json_and_iso_dates():
    assert parse_xero_datetime("/Date(1573755038314+0000)/") == datetime(2019, 11, 14, 18, 10, 38, 314000, tzinfo=timezone.utc)
    assert parse_xero_datetime("2026-11-28T03:00:00") == datetime(2026, 11, 28, 3, tzinfo=timezone.utc)
    assert parse_xero_datetime(None) is None and parse_xero_datetime("nonsense") is None


def test_contact_mapping_keeps_addresses_phones_people():
    contact = _contact({
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
    assert _contact({"ContactID": "x", "Name": "Old", "ContactStatus": "ARCHIVED"}).archived


def test_payment_state_is_decimal():
    state = _payment_state({"InvoiceID": "i1", "InvoiceNumber": "INV-0007", "Status": "AUTHORISED",
                            "Total": Decimal("749.10"), "AmountPaid": Decimal("500.00"), "AmountDue": Decimal("249.10"),
                            "Payments": [{"Date": "/Date(1764720000000+0000)/", "Amount": Decimal("500.00")}]})
    assert state.has_payments and state.amount_due == Decimal("249.10")
    assert state.last_payment_date.date().isoformat() == "2025-12-03"
