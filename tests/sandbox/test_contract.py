"""Every implemented operation, with every request and response checked against Xero's
official OpenAPI files (validate_spec=True); plus proof that the checker catches a bad shape."""
from __future__ import annotations

import pytest
import requests

from sandbox.faces.xero import specval
from sandbox.core.testing import SandboxServer

from ..support.sandbox import CLIENT, HARBOUR_ID, SECOND_ID, SECRET, Api, connect, refresh


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    with SandboxServer(tmp_path_factory.mktemp("contract") / "s.db", CLIENT, SECRET, test_controls=True,
                       validate_spec=True) as running:
        yield running


def test_every_operation_conforms(checked):
    tokens = connect(checked.url, (HARBOUR_ID, SECOND_ID))
    tokens = refresh(checked.url, tokens["refresh_token"]).json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    rows = requests.get(f"{checked.url}/xero/connections", headers=auth, timeout=10).json()           # getConnections
    api = Api(checked.url, tokens["access_token"])
    assert api.get("/Organisation").status_code == 200                                            # getOrganisations
    contacts = api.get("/Contacts", params={"page": 1, "pageSize": 5, "includeArchived": "true",  # getContacts
                                            "order": "UpdatedDateUTC ASC", "where": 'ContactStatus=="ACTIVE"'},
                       headers={"If-Modified-Since": "2020-01-01T00:00:00Z"}).json()["Contacts"]
    api.get("/Contacts", params={"searchTerm": "coastal", "IDs": contacts[0]["ContactID"]})
    api.get(f"/Contacts/{contacts[0]['ContactID']}")                                              # getContact
    for path in ("/Items", "/Accounts", "/TaxRates"):                                             # getItems ...
        assert api.get(path).status_code == 200
    new = api.put("/Contacts", {"Contacts": [{                                                    # createContacts
        "Name": "Contract Co", "EmailAddress": "c@contract.example", "FirstName": "Con", "LastName": "Tract",
        "Addresses": [{"AddressType": "POBOX", "AddressLine1": "PO Box 1", "City": "Kiama", "Region": "NSW",
                       "PostalCode": "2533", "Country": "Australia"}],
        "Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": "4232 0000", "PhoneAreaCode": "02"}],
        "ContactPersons": [{"FirstName": "Ann", "LastName": "Lee", "EmailAddress": "ann@contract.example",
                            "IncludeInEmails": True}]}]}, headers={"Idempotency-Key": "contract-1"})
    assert new.status_code == 200
    cid = new.json()["Contacts"][0]["ContactID"]
    assert api.put("/Contacts", {"Contacts": [{"Name": "contract co"}]}).status_code == 400
    api.put("/Contacts", {"Contacts": [{"Name": "contract co"}, {"Name": "Contract Two"}]},
            params={"summarizeErrors": "false"})
    api.post("/Contacts", {"Contacts": [{"ContactID": cid, "TaxNumber": "12 345 678 901"}]})      # updateOrCreateContacts
    api.post(f"/Contacts/{cid}", {"Contacts": [{"ContactStatus": "ARCHIVED"}]})                   # updateContact
    line = {"Description": "Panel", "ItemCode": "PNL-1200", "Quantity": 2.5, "UnitAmount": 48.5,
            "AccountCode": "200", "TaxType": "OUTPUT", "DiscountRate": 10}
    invoice = api.put("/Invoices", {"Invoices": [{                                                # createInvoices
        "Type": "ACCREC", "Contact": {"ContactID": contacts[0]["ContactID"]}, "Date": "2026-12-01",
        "DueDate": "2026-12-31", "LineAmountTypes": "Exclusive", "Status": "AUTHORISED", "Reference": "C-1",
        "LineItems": [line]}]}, headers={"Idempotency-Key": "contract-2"})
    assert invoice.status_code == 200, invoice.text
    iid = invoice.json()["Invoices"][0]["InvoiceID"]
    api.post("/Invoices", {"Invoices": [{"InvoiceID": iid, "Reference": "C-1b"},                   # updateOrCreateInvoices
                                        {"Type": "ACCPAY", "Contact": {"Name": "Contract Supplier"},
                                         "InvoiceNumber": "B-1", "LineItems": [line]}]},
             params={"summarizeErrors": "false"})
    api.post(f"/Invoices/{iid}", {"Invoices": [{"LineItems": [line, line]}]})                     # updateInvoice
    api.get("/Invoices", params={"page": 1, "Statuses": "AUTHORISED,PAID", "where": 'Type=="ACCREC"'})  # getInvoices
    api.get("/Invoices", params={"IDs": iid, "ContactIDs": contacts[0]["ContactID"]})
    api.get(f"/Invoices/{iid}")                                                                   # getInvoice
    payment = api.put("/Payments", {"Payments": [{"Invoice": {"InvoiceID": iid},                  # createPayments
                                                  "Account": {"Code": "090"}, "Date": "2026-12-03", "Amount": 50}]})
    assert payment.status_code == 200, payment.text
    api.post("/Payments", {"Invoice": {"InvoiceID": iid}, "Account": {"Code": "090"},             # createPayment
                           "Date": "2026-12-04", "Amount": 1.25})
    assert api.post(f"/Invoices/{iid}", {"Invoices": [{"Status": "VOIDED"}]}).status_code == 400
    api.get("/Payments", params={"page": 1})                                                     # getPayments
    api.get(f"/Payments/{payment.json()['Payments'][0]['PaymentID']}")                            # getPayment
    credit = api.put("/Invoices", {"Invoices": [{"Type": "ACCREC", "Contact": {"ContactID": contacts[0]["ContactID"]},
                                                 "DueDate": "2026-12-31", "Status": "AUTHORISED", "LineItems": [line]}]})
    credited = credit.json()["Invoices"][0]["InvoiceID"]
    assert requests.post(f"{checked.url}/ledger/invoices/{credited}/credit", allow_redirects=False, timeout=10,
                         data={"tenant_id": HARBOUR_ID, "credit": "20.00"}).status_code == 303
    assert api.get(f"/Invoices/{credited}").json()["Invoices"][0]["AmountCredited"] == 20             # getInvoice
    notes = api.get("/CreditNotes", params={"page": 1, "where": 'Type=="ACCRECCREDIT"'}).json()       # getCreditNotes
    api.get(f"/CreditNotes/{notes['CreditNotes'][0]['CreditNoteID']}")                              # getCreditNote
    second = next(r for r in rows if r["tenantId"] == SECOND_ID)
    assert requests.delete(f"{checked.url}/xero/connections/{second['id']}", headers=auth,             # deleteConnection
                           timeout=10).status_code == 204
    assert checked.spec_violations == []


def test_the_checker_catches_wrong_shapes(checked):
    broken = b'{"Id":"x","Status":"OK","Contacts":[{"ContactID":"not-a-uuid","Name":42,"ContactStatus":"GONE"}]}'
    found = specval.check("GET", "/api.xro/2.0/Contacts", "page=1",
                          {"Authorization": "Bearer t", "xero-tenant-id": HARBOUR_ID}, b"", 200, broken,
                          "application/json")
    assert found and all(f.startswith("GET /api.xro/2.0/Contacts response") for f in found)
    assert "Name" in found[0] and "ContactStatus" in found[0]
    no_tenant = specval.check("GET", "/api.xro/2.0/Items", "", {"Authorization": "Bearer t"}, b"", 200,
                              b'{"Items":[]}', "application/json")
    assert any("request" in f and "xero-tenant-id" in f for f in no_tenant)
    bad_body = specval.check("PUT", "/api.xro/2.0/Contacts", "",
                             {"Authorization": "Bearer t", "xero-tenant-id": HARBOUR_ID,
                              "Content-Type": "application/json"},
                             b'{"Contacts":[{"Name":"A","Phones":[{"PhoneType":"PAGER"}]}]}', 200,
                             b'{"Contacts":[]}', "application/json")
    assert any("request" in f and "PAGER" in f for f in bad_body)
    connections = specval.check("GET", "/connections", "", {"Authorization": "Bearer t"}, b"", 200,
                                b'[{"id":"nope","createdDateUtc":"yesterday"}]', "application/json")
    assert connections and "response" in connections[0]
    assert specval.check_schema("xero-identity.yaml", "AccessToken", {"expires_in": "soon"})
    # and a live request with a wrong shape is recorded, not refused
    before = len(checked.spec_violations)
    tokens = connect(checked.url)
    api = Api(checked.url, tokens["access_token"])
    api.put("/Contacts", {"Contacts": [{"Name": "Shape Test", "Phones": [{"PhoneType": "PAGER"}]}]},
            params={"summarizeErrors": "false"})
    assert len(checked.spec_violations) > before
    del checked.spec_violations[before:]
