"""The sandbox's QuickBooks Online face: Intuit's OAuth2 server and the Accounting API v3
over the same books as Xero's face, in Intuit's shapes and faults; and Intuit's own
Python clients (intuit-oauth, python-quickbooks) working against it unchanged but for
their base URLs."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from ..support.sandbox import CLIENT, HARBOUR_ID, SECOND_ID, SECRET, control, server  # noqa: F401

CALLBACK = "http://localhost/callback"
SCOPE = "com.intuit.quickbooks.accounting openid profile email"


def consent(url: str, company: str = HARBOUR_ID, action: str = "allow") -> dict:
    answer = requests.post(f"{url}/quickbooks/connect/oauth2", allow_redirects=False, timeout=10, data={
        "client_id": CLIENT, "response_type": "code", "redirect_uri": CALLBACK, "scope": SCOPE, "state": "s7",
        "action": action, "company": company})
    assert answer.status_code == 302, answer.text
    return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}


def tokens_for(url: str, company: str = HARBOUR_ID) -> tuple[dict, str]:
    given = consent(url, company)
    answer = requests.post(f"{url}/quickbooks/oauth2/v1/tokens/bearer", auth=(CLIENT, SECRET), timeout=10,
                           data={"grant_type": "authorization_code", "code": given["code"], "redirect_uri": CALLBACK})
    assert answer.status_code == 200, answer.text
    return answer.json(), given["realmId"]


class Qbo:
    def __init__(self, url: str, token: str, realm: str):
        self.base = f"{url}/quickbooks/v3/company/{realm}"
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def get(self, path: str, **params):
        return requests.get(self.base + path, params={"minorversion": 75, **params}, headers=self.headers, timeout=10)

    def post(self, path: str, body, **params):
        return requests.post(self.base + path, params={"minorversion": 75, **params}, json=body, headers=self.headers,
                             timeout=10)

    def query(self, text: str):
        answer = self.get("/query", query=text)
        assert answer.status_code == 200, answer.text
        return answer.json()["QueryResponse"]


@pytest.fixture()
def qbo(server):
    tokens, realm = tokens_for(server.url)
    return Qbo(server.url, tokens["access_token"], realm)


def test_discovery_consent_tokens_refresh_and_revoke(server):
    doc = requests.get(f"{server.url}/quickbooks/.well-known/openid_configuration", timeout=10).json()
    assert {"issuer", "authorization_endpoint", "token_endpoint", "revocation_endpoint", "userinfo_endpoint",
            "jwks_uri"} <= set(doc)
    assert consent(server.url, action="cancel") == {"error": "access_denied", "state": "s7"}
    given = consent(server.url)
    assert given["state"] == "s7" and given["realmId"].isdigit() and given["code"]
    tokens, realm = tokens_for(server.url)
    assert realm == given["realmId"]  # the same company, the same realm
    assert "through QuickBooks Online" in requests.get(f"{server.url}/ledger", timeout=10).text
    assert (tokens["token_type"], tokens["expires_in"], tokens["x_refresh_token_expires_in"]) == \
        ("bearer", 3600, 8726400)
    refresh = requests.post(doc["token_endpoint"], auth=(CLIENT, SECRET), timeout=10,
                            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).json()
    assert refresh["refresh_token"] == tokens["refresh_token"]  # it keeps its value for a day...
    control(server.url, "clock", advance_seconds=90000)
    rolled = requests.post(doc["token_endpoint"], auth=(CLIENT, SECRET), timeout=10,
                           data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).json()
    assert rolled["refresh_token"] != tokens["refresh_token"]  # ...then changes: store the newest
    api = Qbo(server.url, rolled["access_token"], realm)
    assert api.get(f"/companyinfo/{realm}").json()["CompanyInfo"]["CompanyName"] == "Harbour Sheet Metal (Sandbox)"
    user = requests.get(doc["userinfo_endpoint"], headers={"Authorization": f"Bearer {rolled['access_token']}"},
                        timeout=10).json()
    assert user["email"] and user["emailVerified"] is True
    assert requests.post(doc["revocation_endpoint"], auth=(CLIENT, SECRET), json={"token": rolled["refresh_token"]},
                         timeout=10).status_code == 200
    gone = api.get(f"/companyinfo/{realm}")
    assert gone.status_code == 401 and gone.json()["fault"]["error"][0]["code"] == "3200"
    again = requests.post(doc["token_endpoint"], auth=(CLIENT, SECRET), timeout=10,
                          data={"grant_type": "refresh_token", "refresh_token": rolled["refresh_token"]})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    ledger = requests.get(f"{server.url}/ledger", timeout=10).text.split("Second Brand")[0]
    assert "through QuickBooks Online" not in ledger and "No connected apps" in ledger


def test_the_token_endpoint_wants_the_client(server):
    given = consent(server.url)
    answer = requests.post(f"{server.url}/quickbooks/oauth2/v1/tokens/bearer", auth=(CLIENT, "wrong"), timeout=10,
                           data={"grant_type": "authorization_code", "code": given["code"], "redirect_uri": CALLBACK})
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"


def test_customers_and_vendors_are_separate_lists_over_the_same_books(server, qbo):
    customers = qbo.query("SELECT * FROM Customer MAXRESULTS 1000")["Customer"]
    vendors = qbo.query("select * from vendor maxresults 1000")["Vendor"]
    names = {c["DisplayName"] for c in customers}
    assert "Coastal Kitchens Pty Ltd" in names and "BlueScope Distribution" not in names
    assert "BlueScope Distribution" in {v["DisplayName"] for v in vendors}
    assert "Old Mill Fabrications" not in {v["DisplayName"] for v in vendors}  # inactive: not unless asked
    assert "Old Mill Fabrications" in {v["DisplayName"] for v in qbo.query(
        "SELECT * FROM Vendor WHERE Active IN (true, false) MAXRESULTS 1000")["Vendor"]}
    both = "Precision Laser Cutting"
    assert {c["Id"] for c in customers if c["DisplayName"] == both} and all(c["Id"].isdigit() for c in customers)
    coastal = next(c for c in customers if c["DisplayName"] == "Coastal Kitchens Pty Ltd")
    assert coastal["PrimaryEmailAddr"]["Address"] == "accounts@coastalkitchens.example"
    assert coastal["BillAddr"]["Line1"].startswith("PO Box") and coastal["ShipAddr"]["Line1"] == "14 Pittwater Rd"
    assert coastal["PrimaryPhone"]["FreeFormNumber"] == "02 9555 0101"
    single = qbo.get(f"/customer/{coastal['Id']}").json()["Customer"]
    assert single == coastal
    assert qbo.query("SELECT COUNT(*) FROM Customer")["totalCount"] == len(customers)


def test_queries_page_order_and_filter(server, qbo):
    control(server.url, "contacts/bulk", count=250, customers=250)
    first = qbo.query("SELECT * FROM Customer ORDERBY MetaData.LastUpdatedTime STARTPOSITION 1 MAXRESULTS 100")
    second = qbo.query("SELECT * FROM Customer ORDERBY MetaData.LastUpdatedTime STARTPOSITION 101 MAXRESULTS 100")
    assert (first["startPosition"], first["maxResults"], second["startPosition"]) == (1, 100, 101)
    seen = [c["Id"] for c in first["Customer"] + second["Customer"]]
    assert len(set(seen)) == 200
    moments = [c["MetaData"]["LastUpdatedTime"] for c in first["Customer"] + second["Customer"]]
    assert moments == sorted(moments)
    since = moments[150]
    later = qbo.query(f"SELECT * FROM Customer WHERE MetaData.LastUpdatedTime > '{since}' MAXRESULTS 1000")["Customer"]
    assert later and all(c["MetaData"]["LastUpdatedTime"] > since for c in later)
    posted = requests.post(qbo.base + "/query", params={"minorversion": 75}, timeout=10,
                           data="SELECT * FROM Customer WHERE DisplayName LIKE 'Coastal%'",
                           headers={**qbo.headers, "Content-Type": "application/text"})
    assert [c["DisplayName"] for c in posted.json()["QueryResponse"]["Customer"]] == ["Coastal Kitchens Pty Ltd"]
    assert qbo.query("SELECT * FROM Customer WHERE DisplayName = 'Nobody at all'") == {}
    items = qbo.query("SELECT *, Sku FROM Item")["Item"]
    panel = next(i for i in items if i["Sku"] == "PNL-1200")
    assert panel["UnitPrice"] == 48.5 and panel["IncomeAccountRef"]["name"] == "Sales"
    assert {a["AccountType"] for a in qbo.query("SELECT * FROM Account MAXRESULTS 1000")["Account"]} >= {"Bank", "Income"}
    codes = qbo.query("SELECT * FROM TaxCode")["TaxCode"]
    gst = next(c for c in codes if c["Name"] == "OUTPUT")
    rate = qbo.get(f"/taxrate/{gst['SalesTaxRateList']['TaxRateDetail'][0]['TaxRateRef']['value']}").json()["TaxRate"]
    assert rate["RateValue"] == 10
    bad = qbo.get("/query", query="SELEKT nothing")
    assert bad.status_code == 400 and bad.json()["Fault"]["Error"][0]["code"] == "4000"


def test_customer_writes_sync_token_request_id_and_faults(server, qbo):
    body = {"DisplayName": "Kiama Boat Sheds", "PrimaryEmailAddr": {"Address": "yard@kiamasheds.example"},
            "PrimaryPhone": {"FreeFormNumber": "02 4232 0100"},
            "BillAddr": {"Line1": "PO Box 77", "City": "Kiama", "CountrySubDivisionCode": "NSW", "PostalCode": "2533"},
            "SyncToken": 0, "sparse": False, "domain": "QBO", "Balance": 0}
    made = qbo.post("/customer", body, requestid="factory-customer-41")
    assert made.status_code == 200, made.text
    again = qbo.post("/customer", body, requestid="factory-customer-41")
    assert again.json()["Customer"]["Id"] == made.json()["Customer"]["Id"]
    customer = made.json()["Customer"]
    assert (customer["SyncToken"], customer["BillAddr"]["City"]) == ("0", "Kiama")
    assert qbo.query("SELECT COUNT(*) FROM Customer WHERE DisplayName = 'Kiama Boat Sheds'")["totalCount"] == 1
    duplicate = qbo.post("/customer", dict(body, DisplayName="kiama boat sheds"))
    assert duplicate.status_code == 400 and duplicate.json()["Fault"]["Error"][0]["code"] == "6240"
    as_vendor = qbo.post("/vendor", {"DisplayName": "Kiama Boat Sheds"})
    assert as_vendor.json()["Fault"]["Error"][0]["code"] == "6240"  # unique across customers and vendors
    vendor = qbo.post("/vendor", {"DisplayName": "Kiama Boat Sheds (supplier)"}).json()["Vendor"]
    assert vendor["Id"].isdigit()
    updated = qbo.post("/customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True,
                                     "PrimaryEmailAddr": {"Address": "office@kiamasheds.example"}})
    assert updated.status_code == 200 and updated.json()["Customer"]["SyncToken"] == "1"
    assert updated.json()["Customer"]["PrimaryPhone"]["FreeFormNumber"] == "02 4232 0100"  # sparse: kept
    stale = qbo.post("/customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "DisplayName": "X"})
    assert stale.status_code == 400 and stale.json()["Fault"]["Error"][0]["code"] == "5010"
    missing = qbo.get("/customer/999999")
    assert missing.status_code == 400 and missing.json()["Fault"]["Error"][0]["code"] == "610"
    nameless = qbo.post("/customer", {"Notes": "no name"})
    assert nameless.status_code == 400 and nameless.json()["Fault"]["Error"][0]["code"] == "2020"
    assert qbo.post("/customer", body, requestid="x" * 51).status_code == 400


def test_another_company_is_refused(server, qbo):
    second_realm = consent(server.url, company=SECOND_ID)["realmId"]
    other = Qbo(server.url, qbo.headers["Authorization"][7:], second_realm)
    answer = other.get(f"/companyinfo/{second_realm}")
    assert answer.status_code == 403 and answer.json()["Fault"]["Error"][0]["code"] == "3100"


def test_intuits_own_clients_work_against_the_face(server, monkeypatch):
    """intuit-oauth's AuthClient (discovery by URL; it checks the id token's RS256
    signature against the face's JWKS) and python-quickbooks, unchanged but for the API's
    base URL (and oauthlib's switch for a plain-http server)."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    from intuitlib.client import AuthClient
    from intuitlib.enums import Scopes
    from quickbooks import QuickBooks
    from quickbooks.objects.customer import Customer

    auth = AuthClient(CLIENT, SECRET, CALLBACK, f"{server.url}/quickbooks/.well-known/openid_configuration")
    url = auth.get_authorization_url([Scopes.ACCOUNTING])
    assert url.startswith(f"{server.url}/quickbooks/connect/oauth2?")
    given = consent(server.url)
    auth.get_bearer_token(given["code"], realm_id=given["realmId"])
    assert auth.access_token and auth.refresh_token and auth.x_refresh_token_expires_in == 8726400
    assert auth.id_token  # kept only when its RS256 signature checks out against the face's JWKS
    auth.refresh()
    client = QuickBooks(auth_client=auth, refresh_token=auth.refresh_token, company_id=given["realmId"],
                        minorversion=75)
    client.api_url_v3 = f"{server.url}/quickbooks/v3"
    found = Customer.filter(DisplayName="Coastal Kitchens Pty Ltd", qb=client)
    assert [c.DisplayName for c in found] == ["Coastal Kitchens Pty Ltd"]
    assert Customer.count(qb=client) > 20
    made = Customer()
    made.DisplayName = "Thirroul Sheetworks"
    made.save(qb=client, request_id="made-by-python-quickbooks")
    assert made.Id and Customer.get(made.Id, qb=client).DisplayName == "Thirroul Sheetworks"
    auth.revoke(token=auth.refresh_token)
    with pytest.raises(Exception):
        Customer.all(qb=client)


def refs(qbo: Qbo) -> dict:
    customers = qbo.query("SELECT * FROM Customer MAXRESULTS 1000")["Customer"]
    vendors = qbo.query("SELECT * FROM Vendor MAXRESULTS 1000")["Vendor"]
    items = qbo.query("SELECT * FROM Item")["Item"]
    codes = qbo.query("SELECT * FROM TaxCode")["TaxCode"]
    accounts = qbo.query("SELECT * FROM Account MAXRESULTS 1000")["Account"]
    return {"coastal": next(c["Id"] for c in customers if c["DisplayName"] == "Coastal Kitchens Pty Ltd"),
            "bluescope": next(v["Id"] for v in vendors if v["DisplayName"] == "BlueScope Distribution"),
            "panel": next(i["Id"] for i in items if i["Sku"] == "PNL-1200"),
            "sheet": next(i["Id"] for i in items if i["Sku"] == "GAL-SHT"),
            "gst": next(c["Id"] for c in codes if c["Name"] == "OUTPUT"),
            "gst_in": next(c["Id"] for c in codes if c["Name"] == "INPUT"),
            "freight": next(a["Id"] for a in accounts if a["AcctNum"] == "425")}


def sale_line(ref: dict, qty, price, amount) -> dict:
    return {"DetailType": "SalesItemLineDetail", "Amount": amount, "Description": "Panel",
            "SalesItemLineDetail": {"ItemRef": {"value": ref["panel"], "name": ""}, "Qty": qty, "UnitPrice": price,
                                    "TaxCodeRef": {"value": ref["gst"]}}}


def test_invoices_once_per_request_id_with_totals_to_the_cent(server, qbo):
    ref = refs(qbo)
    lines = [sale_line(ref, 3, 0.33, 0.99) for _ in range(13)]  # 13 lines of 0.99, GST 0.10 each (rounded per line)
    body = {"CustomerRef": {"value": ref["coastal"], "name": ""}, "DocNumber": "INV-0100", "TxnDate": "2026-12-01",
            "DueDate": "2026-12-31", "GlobalTaxCalculation": "TaxExcluded", "Line": lines, "TotalAmt": "",
            "Balance": 0, "domain": "QBO", "sparse": False, "SyncToken": 0}
    made = qbo.post("/invoice", body, requestid="invoice-7-v1")
    assert made.status_code == 200, made.text
    again = qbo.post("/invoice", body, requestid="invoice-7-v1")
    invoice = made.json()["Invoice"]
    assert again.json()["Invoice"]["Id"] == invoice["Id"]
    assert qbo.query("SELECT COUNT(*) FROM Invoice WHERE DocNumber = 'INV-0100'")["totalCount"] == 1
    assert (invoice["TotalAmt"], invoice["TxnTaxDetail"]["TotalTax"], invoice["Balance"]) == (14.17, 1.30, 14.17)
    assert invoice["Line"][-1] == {"Amount": 12.87, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
    assert invoice["CustomerRef"]["value"] == ref["coastal"]
    updated = qbo.post("/invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"], "sparse": True,
                                    "Line": [sale_line(ref, 2, 48.5, 97.0)]}).json()["Invoice"]
    assert (updated["TotalAmt"], len(updated["Line"]), updated["SyncToken"]) == (106.7, 2, "1")  # lines replaced
    stale = qbo.post("/invoice", {"Id": invoice["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "x"})
    assert stale.json()["Fault"]["Error"][0]["code"] == "5010"
    wrong = qbo.post("/invoice", dict(body, DocNumber="INV-0101", Line=[sale_line(ref, 2, 48.5, 90.0)]))
    assert wrong.json()["Fault"]["Error"][0]["code"] == "6070"
    untaxed = sale_line(ref, 1, 10, 10)
    del untaxed["SalesItemLineDetail"]["TaxCodeRef"]
    assert qbo.post("/invoice", dict(body, DocNumber="INV-0102", Line=[untaxed])).json()["Fault"]["Error"][0]["code"] \
        == "6000"
    ghost = qbo.post("/invoice", dict(body, DocNumber="INV-0103", CustomerRef={"value": "987654"}))
    assert ghost.json()["Fault"]["Error"][0]["code"] == "2500"
    assert qbo.post("/invoice", dict(body, DocNumber="INV-0104", Line=[])).json()["Fault"]["Error"][0]["code"] == "6000"
    taken = qbo.post("/invoice", dict(body, Line=[sale_line(ref, 1, 10, 10)]))
    assert taken.json()["Fault"]["Error"][0]["code"] == "6140"


def test_a_payment_in_the_books_shows_as_balance_and_linked_txn(server, qbo):
    ref = refs(qbo)
    invoice = qbo.post("/invoice", {"CustomerRef": {"value": ref["coastal"]}, "DocNumber": "INV-0200",
                                    "DueDate": "2026-12-31", "Line": [sale_line(ref, 2, 48.5, 97.0)]}).json()["Invoice"]
    xero_id = next(i["InvoiceID"] for i in server_invoices(server) if i["InvoiceNumber"] == "INV-0200")
    answer = requests.post(f"{server.url}/ledger/payments", allow_redirects=False, timeout=10,
                           data={"tenant_id": HARBOUR_ID, "invoice_id": xero_id, "amount": "50.00"})
    assert answer.status_code == 303
    after = qbo.get(f"/invoice/{invoice['Id']}").json()["Invoice"]
    assert after["Balance"] == 56.7 and after["LinkedTxn"][0]["TxnType"] == "Payment"


def server_invoices(server) -> list[dict]:
    """The same books through Xero's face."""
    from ..support.sandbox import Api, connect
    return Api(server.url, connect(server.url)["access_token"]).get("/Invoices").json()["Invoices"]


def test_bills_by_account_and_by_item(server, qbo):
    ref = refs(qbo)
    bill = qbo.post("/bill", {"VendorRef": {"value": ref["bluescope"]}, "DocNumber": "BSD-9001", "TxnDate": "2026-12-02",
                              "DueDate": "2027-01-01", "Line": [
                                  {"DetailType": "AccountBasedExpenseLineDetail", "Amount": 120, "Description": "Freight",
                                   "AccountBasedExpenseLineDetail": {"AccountRef": {"value": ref["freight"]},
                                                                     "TaxCodeRef": {"value": ref["gst_in"]}}},
                                  {"DetailType": "ItemBasedExpenseLineDetail", "Amount": 580, "Description": "Sheet",
                                   "ItemBasedExpenseLineDetail": {"ItemRef": {"value": ref["sheet"]}, "Qty": 10,
                                                                  "UnitPrice": 58, "TaxCodeRef": {"value": ref["gst_in"]}}}]},
                    requestid="bill-1")
    assert bill.status_code == 200, bill.text
    saved = bill.json()["Bill"]
    assert (saved["TotalAmt"], saved["Balance"], saved["VendorRef"]["value"]) == (770.0, 770.0, ref["bluescope"])
    assert [line["DetailType"] for line in saved["Line"]] == ["AccountBasedExpenseLineDetail",
                                                              "ItemBasedExpenseLineDetail"]
    assert "BSD-9001" in {b["DocNumber"] for b in qbo.query("SELECT * FROM Bill")["Bill"]}
    assert "BSD-9001" not in {i.get("DocNumber") for i in qbo.query("SELECT * FROM Invoice").get("Invoice", [])}


def test_change_data_capture(server, qbo):
    from datetime import datetime, timedelta, timezone

    import time

    from ..support.sandbox import Api, connect
    time.sleep(1.1)  # the demo books were planted a moment ago: what changes now comes after
    since = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")  # no offset: UTC
    made = qbo.post("/customer", {"DisplayName": "Bulli Surf Fabrication"}).json()["Customer"]
    xero = Api(server.url, connect(server.url)["access_token"])
    contact = next(c for c in xero.get("/Contacts").json()["Contacts"] if c["Name"] == "Bulli Surf Fabrication")
    draft = xero.put("/Invoices", {"Invoices": [{"Type": "ACCREC", "Contact": {"ContactID": contact["ContactID"]},
                                                 "Status": "DRAFT", "LineItems": [{"Description": "Hood", "Quantity": 1,
                                                                                   "UnitAmount": 80, "AccountCode": "200",
                                                                                   "TaxType": "OUTPUT"}]}]})
    draft_id = draft.json()["Invoices"][0]["InvoiceID"]
    answer = qbo.get("/cdc", entities="Customer,Invoice", changedSince=since)
    assert answer.status_code == 200, answer.text
    [customers, invoices] = answer.json()["CDCResponse"][0]["QueryResponse"]
    assert made["Id"] in {c["Id"] for c in customers["Customer"]}
    [invoice] = invoices["Invoice"]
    assert requests.post(f"{server.url}/ledger/invoices/{draft_id}/delete", data={"tenant_id": HARBOUR_ID},
                         timeout=10).status_code == 200
    after = qbo.get("/cdc", entities="Invoice", changedSince=since).json()["CDCResponse"][0]["QueryResponse"][0]
    assert after["Invoice"] == [{"Id": invoice["Id"], "status": "Deleted", "domain": "QBO",
                                 "MetaData": after["Invoice"][0]["MetaData"]}]
    assert qbo.get(f"/invoice/{invoice['Id']}").json()["Fault"]["Error"][0]["code"] == "610"
    old = (datetime.now(timezone.utc) - timedelta(days=31)).isoformat()
    assert qbo.get("/cdc", entities="Customer", changedSince=old).status_code == 400
    assert qbo.get("/cdc", entities="TaxCode", changedSince=since).status_code == 400


def test_void_and_delete(server, qbo):
    ref = refs(qbo)

    def invoice(number):
        return qbo.post("/invoice", {"CustomerRef": {"value": ref["coastal"]}, "DocNumber": number,
                                     "DueDate": "2026-12-31", "Line": [sale_line(ref, 1, 40, 40)]}).json()["Invoice"]
    first, second = invoice("INV-0300"), invoice("INV-0301")
    voided = qbo.post("/invoice", {"Id": first["Id"], "SyncToken": first["SyncToken"]}, operation="void").json()
    assert (voided["Invoice"]["TotalAmt"], voided["Invoice"]["Balance"], voided["Invoice"]["PrivateNote"]) == \
        (0, 0, "Voided")
    gone = qbo.post("/invoice", {"Id": second["Id"], "SyncToken": second["SyncToken"]}, operation="delete").json()
    assert gone["Invoice"]["status"] == "Deleted"
    assert qbo.get(f"/invoice/{second['Id']}").json()["Fault"]["Error"][0]["code"] == "610"
    numbers = {i["DocNumber"] for i in qbo.query("SELECT * FROM Invoice MAXRESULTS 1000")["Invoice"]}
    assert "INV-0300" in numbers and "INV-0301" not in numbers
    paid = invoice("INV-0302")
    xero_id = next(i["InvoiceID"] for i in server_invoices(server) if i["InvoiceNumber"] == "INV-0302")
    requests.post(f"{server.url}/ledger/payments", timeout=10,
                  data={"tenant_id": HARBOUR_ID, "invoice_id": xero_id, "amount": "10.00"})
    token = qbo.get(f"/invoice/{paid['Id']}").json()["Invoice"]["SyncToken"]
    refused = qbo.post("/invoice", {"Id": paid["Id"], "SyncToken": token}, operation="void")
    assert refused.status_code == 400 and refused.json()["Fault"]["Error"][0]["code"] == "6540"


def test_webhooks_are_cloud_events_signed_with_the_verifier_token(tmp_path):
    import base64
    import hashlib
    import hmac
    import json
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from sandbox.core.testing import SandboxServer
    key, received, paths = "verifier-token", [], []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            expected = base64.b64encode(hmac.new(key.encode(), raw, hashlib.sha256).digest()).decode()
            paths.append(self.path)
            if hmac.compare_digest(expected, self.headers.get("intuit-signature", "")):
                received.extend(json.loads(raw))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass
    receiver = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{receiver.server_port}/webhooks/{{face}}"
        with SandboxServer(tmp_path / "s.db", CLIENT, SECRET, test_controls=True, webhook_url=url,
                           webhook_key=key) as running:
            tokens, realm = tokens_for(running.url)
            qbo = Qbo(running.url, tokens["access_token"], realm)
            ref = refs(qbo)
            customer = qbo.post("/customer", {"DisplayName": "Hooked Sheetmetal"}).json()["Customer"]
            invoice = qbo.post("/invoice", {"CustomerRef": {"value": ref["coastal"]}, "DocNumber": "INV-0400",
                                            "Line": [sale_line(ref, 1, 10, 10)]}).json()["Invoice"]
            qbo.post("/invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}, operation="void")
            deadline = time.monotonic() + 5
            while len(received) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        receiver.shutdown()
        receiver.server_close()
    seen = {(e["type"], e["intuitentityid"]) for e in received}
    assert ("qbo.customer.created.v1", customer["Id"]) in seen
    assert ("qbo.invoice.created.v1", invoice["Id"]) in seen and ("qbo.invoice.voided.v1", invoice["Id"]) in seen
    assert {e["intuitaccountid"] for e in received} == {realm} and all(e["specversion"] == "1.0" for e in received)
    assert "/webhooks/quickbooks" in paths and "/webhooks/xero" in paths  # each face to its own receiver
