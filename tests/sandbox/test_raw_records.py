"""The sandbox's raw-records control: records stored exactly as given (malformed on
purpose), listed as they are, and kept out of the spec check; and the seeded items and
tax rates carry their own accounts, tax types and where they apply."""
from __future__ import annotations

import time

import pytest
import requests

from sandbox.core.testing import SandboxServer
from sandbox.core.util import loads

from ..support.sandbox import CLIENT, HARBOUR_ID, SECOND_ID, SECRET, Api, api_for, control

RAW_ID = "0b0b0b0b-1111-4222-8333-444455556666"


@pytest.fixture()
def checked(tmp_path):
    with SandboxServer(tmp_path / "sandbox.db", CLIENT, SECRET, test_controls=True, validate_spec=True) as running:
        yield running


def body(response) -> dict:
    assert response.status_code == 200, response.text
    return loads(response.content)


def every_contact(api: Api, **params) -> list:
    return body(api.get("/Contacts", params={"page": 1, "pageSize": 1000, "includeArchived": "true",
                                             "order": "UpdatedDateUTC ASC", **params}))["Contacts"]


def test_raw_contacts_are_listed_as_given_after_the_books_own(checked):
    api = api_for(checked)
    before = every_contact(api)
    stored = control(checked.url, "raw-records", kind="contact", records=[
        {"ContactID": RAW_ID.upper(), "Name": 123, "IsCustomer": True}, {"ContactID": 7, "Phones": "02 9555 0000"},
        "not even an object"])
    assert stored == {"stored": 3, "kind": "contact"}
    listed = body(api.get("/Contacts", params={"page": 1, "pageSize": 1000, "includeArchived": "true",
                                               "order": "UpdatedDateUTC ASC"}))
    assert listed["Contacts"][:len(before)] == before
    assert listed["Contacts"][len(before):] == [{"ContactID": RAW_ID.upper(), "Name": 123, "IsCustomer": True},
                                                {"ContactID": 7, "Phones": "02 9555 0000"}, "not even an object"]
    assert listed["pagination"]["itemCount"] == len(before) + 3
    # paged: the raw ones take the last places
    last = body(api.get("/Contacts", params={"page": 4, "pageSize": 10, "includeArchived": "true"}))["Contacts"]
    assert last[-3:] == listed["Contacts"][-3:] and len(last) == len(before) + 3 - 30
    # by id (any case), and among IDs=
    assert body(api.get(f"/Contacts/{RAW_ID}"))["Contacts"] == [listed["Contacts"][-3]]
    assert body(api.get("/Contacts", params={"IDs": RAW_ID}))["Contacts"] == [listed["Contacts"][-3]]
    # a where= that an object can be checked against, and one it can't
    assert body(api.get("/Contacts", params={"where": "IsCustomer==true"}))["Contacts"][-1]["Name"] == 123
    assert not any(c == "not even an object" for c in body(api.get("/Contacts", params={"where": "IsCustomer==true"}))["Contacts"])
    # a search can't be checked against them: left out
    assert all(isinstance(c, dict) and isinstance(c.get("Name"), str)
               for c in body(api.get("/Contacts", params={"searchTerm": "a"}))["Contacts"])
    # off the spec on purpose: what they break is set aside, not counted as a violation
    assert checked.spec_violations == []
    assert any("Contacts/" in m and "123 is not of type 'string'" in m for m in checked.sandbox.spec_exempted)


def test_raw_records_of_each_list_and_their_change_time(checked):
    api = api_for(checked)
    moment = time.time()
    time.sleep(0.01)
    for kind, record in (("item", {"ItemID": "i-1", "Code": 5}), ("account", {"AccountID": "a-1", "Name": ["x"]}),
                         ("tax_rate", {"TaxType": "ODD", "EffectiveRate": "ten"}),
                         ("invoice", {"InvoiceID": RAW_ID, "InvoiceNumber": "INV-RAW", "Total": "12.50"})):
        control(checked.url, "raw-records", kind=kind, record=record)
    assert body(api.get("/Items"))["Items"][-1] == {"ItemID": "i-1", "Code": 5}
    assert body(api.get("/Accounts"))["Accounts"][-1] == {"AccountID": "a-1", "Name": ["x"]}
    assert body(api.get("/TaxRates"))["TaxRates"][-1] == {"TaxType": "ODD", "EffectiveRate": "ten"}
    invoices = body(api.get("/Invoices", params={"IDs": RAW_ID, "page": 1, "pageSize": 1}))["Invoices"]
    assert invoices == [{"InvoiceID": RAW_ID, "InvoiceNumber": "INV-RAW", "Total": "12.50"}]
    assert body(api.get(f"/Invoices/{RAW_ID}"))["Invoices"] == invoices
    assert body(api.get("/Invoices", params={"Statuses": "PAID"}))["Invoices"][-1].get("InvoiceID") != RAW_ID
    # stored just now: changed since a moment ago, not since later
    since = {"If-Modified-Since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment - 1))}
    assert body(api.get("/Items", headers=since))["Items"][-1]["ItemID"] == "i-1"
    later = {"If-Modified-Since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))}
    assert body(api.get("/Items", headers=later))["Items"] == []
    assert checked.spec_violations == [] and checked.sandbox.spec_exempted
    # the other organisation has none of them, and a reset removes them
    other = api_for(checked, (SECOND_ID,))
    assert all(i.get("ItemID") != "i-1" for i in body(other.get("/Items"))["Items"])
    control(checked.url, "reset")
    api = api_for(checked)
    assert all(i.get("ItemID") != "i-1" for i in body(api.get("/Items"))["Items"])


def test_the_control_refuses_what_it_cannot_store(checked):
    bad = [({"kind": "payment", "record": {}}, "kind must be"), ({"kind": "item"}, "records"),
           ({"kind": "item", "record": {}, "tenantId": "nope"}, "unknown tenantId")]
    for data, words in bad:
        response = requests.post(f"{checked.url}/__sandbox/raw-records", json=data, timeout=10)
        assert response.status_code == 400 and words in response.text
    response = requests.post(f"{checked.url}/__sandbox/raw-records", data=b"[1]", timeout=10,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 400


def test_items_and_tax_rates_say_their_accounts_and_where_they_apply(checked):
    api = api_for(checked)
    items = {i["Code"]: i for i in body(api.get("/Items"))["Items"]}
    assert items["PNL-1200"]["SalesDetails"] | {"UnitPrice": None} == {"UnitPrice": None, "AccountCode": "200",
                                                                        "TaxType": "OUTPUT"}
    assert items["PNL-1200"]["PurchaseDetails"]["AccountCode"] == "300"
    assert items["PNL-1200"]["PurchaseDetails"]["TaxType"] == "INPUT"
    assert items["FAB-HR"]["PurchaseDetails"] == {}  # labour: sold, not bought
    rates = {r["TaxType"]: r for r in body(api.get("/TaxRates"))["TaxRates"]}
    flags = {code: (r["CanApplyToRevenue"], r["CanApplyToExpenses"]) for code, r in rates.items()}
    assert flags["OUTPUT"] == (True, False) and flags["INPUT"] == (False, True)
    assert flags["EXEMPTOUTPUT"] == (True, False) and flags["EXEMPTEXPENSES"] == (False, True)
    assert flags["BASEXCLUDED"] == (True, True)
    assert (rates["OUTPUT"]["Name"], rates["OUTPUT"]["EffectiveRate"]) == ("GST on Income", 10)
    accounts = {a["Code"]: (a["Name"], a["Type"]) for a in body(api.get("/Accounts"))["Accounts"]}
    assert accounts["200"] == ("Sales", "REVENUE") and accounts["260"] == ("Other Revenue", "REVENUE")
    assert accounts["300"] == ("Purchases", "DIRECTCOSTS") and accounts["310"] == ("Cost of Goods Sold", "DIRECTCOSTS")
    assert accounts["400"] == ("Advertising", "EXPENSE")
    assert checked.spec_violations == []


def test_the_organisation_is_named_in_any_case_and_the_control_is_off_by_default(checked, tmp_path):
    control(checked.url, "raw-records", kind="item", record={"ItemID": "h-1", "Code": "H"}, tenantId=HARBOUR_ID.upper())
    assert body(api_for(checked).get("/Items"))["Items"][-1]["ItemID"] == "h-1"
    assert requests.delete(f"{checked.url}/__sandbox/raw-records", timeout=10).json() == {"removed": 1}
    with SandboxServer(tmp_path / "plain.db", CLIENT, SECRET) as plain:
        response = requests.post(f"{plain.url}/__sandbox/raw-records", json={"kind": "item", "record": {}}, timeout=10)
        assert response.status_code == 404
