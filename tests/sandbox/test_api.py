"""The sandbox's accounting API: contacts, invoices, payments, idempotency, limits, faults."""
from __future__ import annotations

import time
from decimal import Decimal

import pytest
import requests

from sandbox.core.testing import SandboxServer
from sandbox.core.util import loads

from ..support.sandbox import CLIENT, HARBOUR_ID, SECRET, Api, api_for, control, server  # noqa: F401


def body(response) -> dict:
    return loads(response.content)


# --- contacts ----------------------------------------------------------------------------

def test_contacts_paging_and_filters(server):
    api = api_for(server)
    first = body(api.get("/Contacts", params={"page": 1, "pageSize": 10}))
    assert first["Status"] == "OK" and first["DateTimeUTC"].startswith("/Date(")
    assert first["pagination"] == {"page": 1, "pageSize": 10, "pageCount": 4, "itemCount": 31}
    everyone = body(api.get("/Contacts", params={"page": 1, "pageSize": 1000, "includeArchived": "true"}))
    assert everyone["pagination"]["itemCount"] == 33
    assert sum(c["ContactStatus"] == "ARCHIVED" for c in everyone["Contacts"]) == 2
    seen = [c["ContactID"] for p in (1, 2, 3, 4) for c in body(api.get("/Contacts", params={"page": p,
                                                                                          "pageSize": 10}))["Contacts"]]
    assert len(seen) == len(set(seen)) == 31
    coastal = body(api.get("/Contacts", params={"where": 'EmailAddress=="accounts@coastalkitchens.example"'}))
    assert [c["Name"] for c in coastal["Contacts"]] == ["Coastal Kitchens Pty Ltd"]
    both = body(api.get("/Contacts", params={"where": 'Name=="Precision Laser Cutting" AND ContactStatus=="ACTIVE"'}))
    contact = both["Contacts"][0]
    assert contact["IsCustomer"] and contact["IsSupplier"]
    assert {a["AddressType"] for a in contact["Addresses"]} == {"POBOX", "STREET"}
    assert {p["PhoneType"] for p in contact["Phones"]} >= {"DEFAULT", "MOBILE", "FAX", "DDI"}
    assert contact["ContactPersons"][0]["FirstName"] == "Mei"
    assert contact["UpdatedDateUTC"].startswith("/Date(")
    doubtful = body(api.get("/Contacts", params={"where": 'Name=="Bayside Air Conditioning"'}))["Contacts"][0]
    assert doubtful["EmailAddress"] == "accounts@bayside-air.example"
    assert body(api.get("/Contacts", params={"searchTerm": "ridgeline"}))["Contacts"][0]["Name"] == \
        "Ridgeline Builders Pty Ltd"
    ids = f"{contact['ContactID']},{doubtful['ContactID']}"
    assert len(body(api.get("/Contacts", params={"IDs": ids}))["Contacts"]) == 2
    assert body(api.get(f"/Contacts/{contact['ContactID']}"))["Contacts"][0]["Name"] == "Precision Laser Cutting"
    assert api.get("/Contacts/00000000-0000-0000-0000-000000000000").status_code == 404
    archived = body(api.get("/Contacts", params={"where": 'ContactStatus=="ARCHIVED"'}))["Contacts"]
    assert len(archived) == 2
    assert api.get("/Contacts", params={"where": "Name ~ nonsense"}).status_code == 400


def test_contacts_if_modified_since_and_order(server):
    api = api_for(server)
    time.sleep(0.01)
    marker = time.time()
    created = body(api.put("/Contacts", {"Contacts": [{"Name": "Later Pty Ltd"}]}))["Contacts"][0]
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(marker - 1))
    changed = body(api.get("/Contacts", params={"page": 1, "order": "UpdatedDateUTC ASC"},
                           headers={"If-Modified-Since": since}))["Contacts"]
    assert [c["ContactID"] for c in changed] == [created["ContactID"]]
    ordered = body(api.get("/Contacts", params={"page": 1, "pageSize": 1000, "order": "UpdatedDateUTC ASC"}))["Contacts"]
    stamps = [int(c["UpdatedDateUTC"][6:19]) for c in ordered]
    assert stamps == sorted(stamps) and ordered[-1]["Name"] == "Later Pty Ltd"


def test_contact_writes_unique_names_and_archiving(server):
    api = api_for(server)
    created = api.put("/Contacts", {"Contacts": [{"Name": "Wave Pty Ltd", "EmailAddress": "hi@wave.example",
                                                  "IsCustomer": True,
                                                  "Phones": [{"PhoneType": "MOBILE", "PhoneNumber": "0400 000 001"}],
                                                  "Addresses": [{"AddressType": "STREET", "City": "Kiama"}]}]})
    assert created.status_code == 200
    wave = body(created)["Contacts"][0]
    assert wave["IsCustomer"] is False  # set by transactions, not writes
    clash = api.put("/Contacts", {"Contacts": [{"Name": "wave pty ltd"}]})
    assert clash.status_code == 400
    error = body(clash)
    assert error["ErrorNumber"] == 10 and error["Type"] == "ValidationException"
    assert error["Elements"][0]["ValidationErrors"][0]["Message"] == (
        "The contact name wave pty ltd is already assigned to another contact. "
        "The contact name must be unique across all active contacts.")
    # archive, then the name is free again
    archived = api.post(f"/Contacts/{wave['ContactID']}", {"Contacts": [{"ContactStatus": "ARCHIVED"}]})
    assert body(archived)["Contacts"][0]["ContactStatus"] == "ARCHIVED"
    assert api.put("/Contacts", {"Contacts": [{"Name": "Wave Pty Ltd"}]}).status_code == 200
    # update by ContactID through POST /Contacts
    renamed = api.post("/Contacts", {"Contacts": [{"ContactID": wave["ContactID"], "Name": "Wave Two"}]})
    assert body(renamed)["Contacts"][0]["Name"] == "Wave Two"
    assert api.put("/Contacts", {"Contacts": [{"EmailAddress": "x@y.example"}]}).status_code == 400
    assert api.put("/Contacts", {"Contacts": [{"Name": "N" * 256}]}).status_code == 400
    assert api.put("/Contacts", {"Contacts": [{"Name": "Bad mail", "EmailAddress": "nope"}]}).status_code == 400


def test_summarize_errors_false_keeps_elements_apart(server):
    api = api_for(server)
    response = api.put("/Contacts", {"Contacts": [{"Name": "Good One"}, {"Name": "Coastal Kitchens Pty Ltd"},
                                                  {"Name": "Good Two"}]}, params={"summarizeErrors": "false"})
    assert response.status_code == 200
    rows = body(response)["Contacts"]
    assert [r["StatusAttributeString"] for r in rows] == ["OK", "ERROR", "OK"]
    assert rows[1]["HasValidationErrors"] is True and "already assigned" in rows[1]["ValidationErrors"][0]["Message"]
    names = {c["Name"] for c in body(api.get("/Contacts", params={"searchTerm": "Good"}))["Contacts"]}
    assert names == {"Good One", "Good Two"}
    # summarizeErrors=true: all or nothing
    failed = api.put("/Contacts", {"Contacts": [{"Name": "Good Three"}, {"Name": "Good One"}]})
    assert failed.status_code == 400 and len(body(failed)["Elements"]) == 1
    assert body(api.get("/Contacts", params={"where": 'Name=="Good Three"'}))["Contacts"] == []


def test_idempotency_key_replays_the_first_answer(server):
    api = api_for(server)
    key = {"Idempotency-Key": "create-acme-1"}
    first = api.put("/Contacts", {"Contacts": [{"Name": "Acme Replay"}]}, headers=key)
    second = api.put("/Contacts", {"Contacts": [{"Name": "Acme Replay"}]}, headers=key)
    assert first.status_code == second.status_code == 200 and first.content == second.content
    assert len(body(api.get("/Contacts", params={"where": 'Name=="Acme Replay"'}))["Contacts"]) == 1
    failing = api.put("/Contacts", {"Contacts": [{"Name": "Coastal Kitchens Pty Ltd"}]}, headers={"Idempotency-Key": "k2"})
    again = api.put("/Contacts", {"Contacts": [{"Name": "Fine Now"}]}, headers={"Idempotency-Key": "k2"})
    assert failing.status_code == again.status_code == 400
    assert api.put("/Contacts", {"Contacts": [{"Name": "Long"}]},
                   headers={"Idempotency-Key": "k" * 129}).status_code == 400
    assert api.put("/Contacts", {"Contacts": [{"Name": "Long"}]},
                   headers={"Idempotency-Key": "k" * 128}).status_code == 200


def test_bulk_contacts_and_fast_reads(server):
    api = api_for(server)
    start = time.monotonic()
    assert control(server.url, "contacts/bulk", tenantId=HARBOUR_ID, count=10000, customers=6000, suppliers=3000,
                   both=500)["inserted"] == 10000
    assert time.monotonic() - start < 10
    start = time.monotonic()
    page = body(api.get("/Contacts", params={"page": 3, "pageSize": 1000, "order": "UpdatedDateUTC ASC"}))
    assert page["pagination"]["itemCount"] == 10031 and len(page["Contacts"]) == 1000
    assert time.monotonic() - start < 3
    suppliers = body(api.get("/Contacts", params={"where": "IsSupplier==true", "page": 1}))["pagination"]
    assert suppliers["itemCount"] >= 3500


# --- invoices and payments ---------------------------------------------------------------

def coastal(api) -> str:
    return body(api.get("/Contacts", params={"where": 'Name=="Coastal Kitchens Pty Ltd"'}))["Contacts"][0]["ContactID"]


def test_invoice_totals_to_the_cent(server):
    api = api_for(server)
    invoice = {"Type": "ACCREC", "Contact": {"ContactID": coastal(api)}, "Date": "2026-12-01",
               "DueDate": "2026-12-31", "Status": "AUTHORISED", "Reference": "SO-1001",
               "LineItems": [
                   {"Description": "Panel", "ItemCode": "PNL-1200", "Quantity": 3, "UnitAmount": 48.55,
                    "AccountCode": "200", "TaxType": "OUTPUT"},
                   {"Description": "Brackets", "Quantity": 7, "UnitAmount": 4.25, "DiscountRate": 12.5,
                    "AccountCode": "200", "TaxType": "OUTPUT"},
                   {"Description": "Freight", "Quantity": 1, "UnitAmount": 0.05, "AccountCode": "200",
                    "TaxType": "OUTPUT"}]}
    response = api.put("/Invoices", {"Invoices": [invoice]})
    assert response.status_code == 200, response.text
    out = body(response)["Invoices"][0]
    assert [line["LineAmount"] for line in out["LineItems"]] == [Decimal("145.65"), Decimal("26.03"), Decimal("0.05")]
    assert [line["TaxAmount"] for line in out["LineItems"]] == [Decimal("14.57"), Decimal("2.60"), Decimal("0.01")]
    assert out["SubTotal"] == Decimal("171.73") and out["TotalTax"] == Decimal("17.18")
    assert out["Total"] == Decimal("188.91") == out["AmountDue"] and out["AmountPaid"] == 0
    assert out["InvoiceNumber"].startswith("INV-") and out["Date"].startswith("/Date(")
    assert out["DateString"] == "2026-12-01T00:00:00"
    inclusive = dict(invoice, LineAmountTypes="Inclusive", LineItems=[
        {"Description": "Incl", "Quantity": 1, "UnitAmount": 110, "AccountCode": "200", "TaxType": "OUTPUT"}])
    out = body(api.put("/Invoices", {"Invoices": [inclusive]}))["Invoices"][0]
    assert (out["SubTotal"], out["TotalTax"], out["Total"]) == (Decimal("100.00"), Decimal("10.00"), Decimal("110.00"))
    notax = dict(inclusive, LineAmountTypes="NoTax")
    out = body(api.put("/Invoices", {"Invoices": [notax]}))["Invoices"][0]
    assert (out["TotalTax"], out["Total"]) == (Decimal("0.00"), Decimal("110.00"))
    numbers = [i["InvoiceNumber"] for i in body(api.get("/Invoices", params={"where": 'Type=="ACCREC"'}))["Invoices"]]
    assert len(numbers) == len(set(numbers))
    duplicate = api.put("/Invoices", {"Invoices": [dict(invoice, InvoiceNumber=numbers[0])]})
    assert duplicate.status_code == 400 and "unique" in duplicate.text
    bill = dict(invoice, Type="ACCPAY", InvoiceNumber="SUP-1", Contact={"Name": "Brand New Supplier"})
    assert api.put("/Invoices", {"Invoices": [bill, bill]}).status_code == 200  # bills may repeat numbers
    supplier = body(api.get("/Contacts", params={"where": 'Name=="Brand New Supplier"'}))["Contacts"][0]
    assert supplier["IsSupplier"] is True and supplier["IsCustomer"] is False


def test_invoice_reads_and_filters(server):
    api = api_for(server)
    listed = body(api.get("/Invoices"))["Invoices"]
    assert len(listed) == 6 and "LineItems" not in listed[0] and "pagination" not in body(api.get("/Invoices"))
    paged = body(api.get("/Invoices", params={"page": 1}))
    assert paged["pagination"]["itemCount"] == 6 and "LineItems" in paged["Invoices"][0]
    statuses = {i["Status"] for i in body(api.get("/Invoices", params={"Statuses": "PAID"}))["Invoices"]}
    assert statuses == {"PAID"}
    bills = body(api.get("/Invoices", params={"where": 'Type=="ACCPAY"'}))["Invoices"]
    assert {b["InvoiceNumber"] for b in bills} == {"BSD-88213", "PLC-1042"}
    part = next(i for i in listed if i["AmountPaid"] and i["Status"] == "AUTHORISED")
    assert part["AmountPaid"] == Decimal("500.00")
    one = body(api.get(f"/Invoices/{part['InvoiceID']}"))["Invoices"][0]
    assert one["Payments"][0]["Amount"] == Decimal("500.00")
    by_number = body(api.get("/Invoices", params={"InvoiceNumbers": part["InvoiceNumber"]}))["Invoices"]
    assert [i["InvoiceID"] for i in by_number] == [part["InvoiceID"]]
    by_ref = body(api.get("/Invoices", params={"where": f'Reference=="{part["Reference"]}"'}))["Invoices"]
    assert [i["InvoiceID"] for i in by_ref] == [part["InvoiceID"]]
    contact_id = part["Contact"]["ContactID"]
    assert body(api.get("/Invoices", params={"ContactIDs": contact_id}))["Invoices"][0]["InvoiceID"] == part["InvoiceID"]
    assert body(api.get("/Invoices", params={"IDs": part["InvoiceID"]}))["Invoices"][0]["InvoiceID"] == part["InvoiceID"]
    assert api.get("/Invoices/00000000-0000-0000-0000-000000000000").status_code == 404


def test_status_rules_and_payment_lock(server):
    api = api_for(server)
    draft = body(api.put("/Invoices", {"Invoices": [{
        "Type": "ACCREC", "Contact": {"ContactID": coastal(api)}, "DueDate": "2026-12-31",
        "LineItems": [{"Description": "Panel", "Quantity": 2, "UnitAmount": 100, "AccountCode": "200"}]}]}))["Invoices"][0]
    assert draft["Status"] == "DRAFT" and draft["Total"] == Decimal("220.00")
    iid = draft["InvoiceID"]
    authorised = api.post(f"/Invoices/{iid}", {"Invoices": [{"Status": "AUTHORISED", "LineItems": [
        {"Description": "Panel", "Quantity": 4, "UnitAmount": 100, "AccountCode": "200"}]}]})
    assert body(authorised)["Invoices"][0]["Total"] == Decimal("440.00")
    assert "not of valid status" in api.post(f"/Invoices/{iid}", {"Invoices": [{"Status": "DELETED"}]}).text
    assert "not of valid status" in api.post(f"/Invoices/{iid}", {"Invoices": [{"Status": "DRAFT"}]}).text
    too_much = api.put("/Payments", {"Invoice": {"InvoiceID": iid}, "Account": {"Code": "090"},
                                     "Date": "2026-12-03", "Amount": 440.01})
    assert too_much.status_code == 400
    paid = api.put("/Payments", {"Payments": [{"Invoice": {"InvoiceID": iid}, "Account": {"Code": "090"},
                                               "Date": "2026-12-03", "Amount": 100}]})
    assert paid.status_code == 200
    after = body(api.get(f"/Invoices/{iid}"))["Invoices"][0]
    assert (after["AmountPaid"], after["AmountDue"], after["Status"]) == (Decimal("100.00"), Decimal("340.00"),
                                                                         "AUTHORISED")
    refused = api.post(f"/Invoices/{iid}", {"Invoices": [{"LineItems": [
        {"Description": "Panel", "Quantity": 6, "UnitAmount": 100, "AccountCode": "200"}]}]})
    assert refused.status_code == 400
    assert body(refused)["Elements"][0]["ValidationErrors"][0]["Message"] == "Invoice not of valid status for modification"
    assert api.post(f"/Invoices/{iid}", {"Invoices": [{"Status": "VOIDED"}]}).status_code == 400
    rest = api.put("/Payments", {"Invoice": {"InvoiceID": iid}, "Account": {"Code": "090"},
                                 "Date": "2026-12-04", "Amount": "340.00"})
    assert rest.status_code == 200
    done = body(api.get(f"/Invoices/{iid}"))["Invoices"][0]
    assert done["Status"] == "PAID" and done["AmountDue"] == 0 and done["FullyPaidOnDate"].startswith("/Date(")
    assert api.put("/Payments", {"Invoice": {"InvoiceID": iid}, "Account": {"Code": "090"},
                                 "Amount": 1}).status_code == 400
    # AUTHORISED without payments may be voided; DRAFT may be deleted
    other = body(api.put("/Invoices", {"Invoices": [{
        "Type": "ACCREC", "Contact": {"ContactID": coastal(api)}, "DueDate": "2026-12-31", "Status": "AUTHORISED",
        "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 5, "AccountCode": "200"}]}]}))["Invoices"][0]
    assert body(api.post(f"/Invoices/{other['InvoiceID']}", {"Invoices": [{"Status": "VOIDED"}]}))[
        "Invoices"][0]["Status"] == "VOIDED"
    deleted = api.post("/Invoices", {"Invoices": [{"InvoiceID": draft["InvoiceID"], "Status": "DELETED"}]})
    assert deleted.status_code == 400  # it is PAID now
    fresh = body(api.put("/Invoices", {"Invoices": [{"Type": "ACCREC", "Contact": {"ContactID": coastal(api)},
                                                    "LineItems": []}]}))["Invoices"][0]
    assert body(api.post(f"/Invoices/{fresh['InvoiceID']}", {"Invoices": [{"Status": "DELETED"}]}))[
        "Invoices"][0]["Status"] == "DELETED"
    mixed = api.post("/Invoices", {"Invoices": [
        {"Type": "ACCREC", "Contact": {"ContactID": coastal(api)}, "LineItems": [
            {"Description": "ok", "Quantity": 1, "UnitAmount": 1, "AccountCode": "200"}]},
        {"InvoiceID": iid, "Reference": "change a paid one"},
        {"Type": "ACCREC", "Contact": {"ContactID": coastal(api)}, "LineItems": [
            {"Description": "bad", "Quantity": 1, "UnitAmount": 1, "AccountCode": "999"}]}]},
        params={"summarizeErrors": "false"})
    assert [i["StatusAttributeString"] for i in body(mixed)["Invoices"]] == ["OK", "ERROR", "ERROR"]
    assert body(mixed)["Invoices"][1]["HasErrors"] is True


# --- limits and faults -------------------------------------------------------------------

def test_minute_and_day_limits(tmp_path):
    with SandboxServer(tmp_path / "s.db", CLIENT, SECRET, test_controls=True,
                       limits={"per_minute": 3, "per_day": 5}) as small:
        api = api_for(small)
        answers = [api.get("/Organisation") for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert answers[0].headers["X-MinLimit-Remaining"] == "2" and "X-DayLimit-Remaining" in answers[0].headers
        assert "X-AppMinLimit-Remaining" in answers[0].headers
        assert answers[3].headers["X-Rate-Limit-Problem"] == "minute"
        assert 1 <= int(answers[3].headers["Retry-After"]) <= 60
        # identity endpoints are not limited
        assert requests.get(f"{small.url}/xero/.well-known/openid-configuration", timeout=5).status_code == 200
        control(small.url, "clock", advance_seconds=61)
        assert [api.get("/Organisation").status_code for _ in range(3)] == [200, 200, 429]
        day = api.get("/Organisation")
        assert day.headers["X-Rate-Limit-Problem"] == "day"


def test_concurrent_limit(tmp_path):
    with SandboxServer(tmp_path / "s.db", CLIENT, SECRET, test_controls=True, limits={"concurrent": 2}) as small:
        api = api_for(small)
        # hold two slots as two slow calls in flight would
        sandbox = small.sandbox
        for _ in range(2):
            assert sandbox.limiter.acquire(HARBOUR_ID)[0] is None
        blocked = api.get("/Items")
        assert blocked.status_code == 429 and blocked.headers["X-Rate-Limit-Problem"] == "concurrent"
        assert blocked.headers["Retry-After"] == "1"
        sandbox.limiter.release(HARBOUR_ID)
        assert api.get("/Items").status_code == 200


@pytest.mark.parametrize("kind", ["500", "503", "429", "malformed", "drop", "timeout"])
def test_faults(server, kind):
    api = api_for(server)
    queued = control(server.url, "faults", kind=kind, count=1, path="/api.xro/2.0/Contacts", retry_after=7, seconds=1)
    assert queued == {"queued": 1}
    assert api.get("/Organisation").status_code == 200  # other paths are untouched
    if kind == "drop":
        with pytest.raises(requests.ConnectionError):
            api.get("/Contacts")
    elif kind == "timeout":
        with pytest.raises(requests.ReadTimeout):
            requests.get(api.base + "/Contacts", headers=api.headers, timeout=0.3)
        time.sleep(1)
    else:
        response = api.get("/Contacts")
        if kind == "malformed":
            assert response.status_code == 200
            with pytest.raises(ValueError):
                response.json()
        else:
            assert response.status_code == int(kind)
        if kind == "429":
            assert response.headers["Retry-After"] == "7" and response.headers["X-Rate-Limit-Problem"] == "minute"
    assert api.get("/Contacts").status_code == 200  # only `count` requests fail
    control(server.url, "faults", kind="500", count=5)
    assert requests.delete(f"{server.url}/__sandbox/faults", timeout=5).json() == {"queued": 0}
    assert api.get("/Contacts").status_code == 200


def test_state_reset_and_request_log(server):
    api = api_for(server)
    api.put("/Contacts", {"Contacts": [{"Name": "To Be Reset"}]}, headers={"Idempotency-Key": "abc"})
    state = requests.get(f"{server.url}/__sandbox/state", timeout=5).json()
    logged = [r for r in state["requests"] if r["path"] == "/api.xro/2.0/Contacts"]
    assert logged[-1] == {"face": "xero", "method": "PUT", "path": "/api.xro/2.0/Contacts", "query": "", "tenant_id": HARBOUR_ID,
                          "idempotency_key": "abc", "status": 200}
    assert any(r["path"] == "/connect/token" for r in state["requests"])
    harbour = next(o for o in state["organisations"] if o["tenantId"] == HARBOUR_ID)
    assert harbour["contacts"] == 34 and harbour["invoices"] == 6
    control(server.url, "reset")
    state = requests.get(f"{server.url}/__sandbox/state", timeout=5).json()
    assert state["connections"] == [] and next(o for o in state["organisations"]
                                               if o["tenantId"] == HARBOUR_ID)["contacts"] == 33


def test_controls_are_off_by_default(tmp_path):
    with SandboxServer(tmp_path / "s.db") as plain:
        assert requests.get(f"{plain.url}/__sandbox/state", timeout=5).status_code == 404
        assert requests.post(f"{plain.url}/__sandbox/reset", timeout=5).status_code == 404
