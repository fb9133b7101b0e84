"""Webhooks (signature, intent to receive), the ledger page, persistence and the CLI."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import requests

from sandbox.core.testing import SandboxServer, free_port

from ..support.sandbox import CLIENT, HARBOUR_ID, SECRET, Api, api_for, connect, control, server  # noqa: F401

KEY = "webhook-signing-key"


class Receiver:
    """A tiny webhook endpoint that checks Xero's signature like a real one."""

    def __init__(self):
        self.received: list[dict] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                expected = base64.b64encode(hmac.new(KEY.encode(), raw, hashlib.sha256).digest()).decode()
                good = hmac.compare_digest(expected, self.headers.get("x-xero-signature", ""))
                if good:
                    received.append(json.loads(raw))
                self.send_response(200 if good else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhooks/xero"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[dict]:
        return [e for payload in self.received for e in payload["events"]]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.events()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.events()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_webhooks_are_signed_and_intent_handshake_passes(tmp_path):
    receiver = Receiver()
    try:
        with SandboxServer(tmp_path / "s.db", CLIENT, SECRET, test_controls=True, webhook_url=receiver.url,
                           webhook_key=KEY) as running:
            intent = control(running.url, "webhooks/intent")
            assert intent["passed"] is True and len(intent["results"]) >= 4
            assert {r["expected"] for r in intent["results"]} == {200, 401}
            api = api_for(running)
            contact = api.put("/Contacts", {"Contacts": [{"Name": "Hooked Pty Ltd"}]}).json()["Contacts"][0]
            invoice = api.put("/Invoices", {"Invoices": [{
                "Type": "ACCREC", "Contact": {"ContactID": contact["ContactID"]}, "DueDate": "2026-12-31",
                "Status": "AUTHORISED", "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 10,
                                                       "AccountCode": "200"}]}]}).json()["Invoices"][0]
            api.put("/Payments", {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Account": {"Code": "090"},
                                  "Amount": 5})
            events = receiver.wait_for(4)
            kinds = [(e["eventCategory"], e["eventType"], e["resourceId"]) for e in events]
            assert ("CONTACT", "CREATE", contact["ContactID"]) in kinds
            assert ("INVOICE", "CREATE", invoice["InvoiceID"]) in kinds
            assert ("INVOICE", "UPDATE", invoice["InvoiceID"]) in kinds  # the payment
            assert ("CONTACT", "UPDATE", contact["ContactID"]) in kinds  # now a customer
            first = events[0]
            assert first["tenantId"] == HARBOUR_ID and first["tenantType"] == "ORGANISATION"
            assert first["resourceUrl"].startswith(f"{running.url}/xero/api.xro/2.0/")
            payload = receiver.received[0]
            assert payload["firstEventSequence"] <= payload["lastEventSequence"] and payload["entropy"]
            # a failed write sends nothing
            before = len(receiver.events())
            api.put("/Contacts", {"Contacts": [{"Name": "Hooked Pty Ltd"}]})
            time.sleep(0.3)
            assert len(receiver.events()) == before
    finally:
        receiver.close()


def test_intent_fails_against_an_endpoint_that_accepts_everything(tmp_path):
    class Lax(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass
    lax = HTTPServer(("127.0.0.1", 0), Lax)
    threading.Thread(target=lax.serve_forever, daemon=True).start()
    try:
        with SandboxServer(tmp_path / "s.db", CLIENT, SECRET, test_controls=True,
                           webhook_url=f"http://127.0.0.1:{lax.server_port}/", webhook_key=KEY) as running:
            assert control(running.url, "webhooks/intent")["passed"] is False
    finally:
        lax.shutdown()
        lax.server_close()


def test_ledger_shows_connected_apps_and_applies_payments(server):
    page = requests.get(f"{server.url}/", timeout=5).text
    assert "Harbour Sheet Metal (Sandbox)" in page and "No connected apps" in page
    tokens = connect(server.url)
    page = requests.get(f"{server.url}/ledger", timeout=5).text
    assert "Factory" in page and CLIENT in page and "Apply payment" in page
    api = Api(server.url, tokens["access_token"])
    invoice = next(i for i in api.get("/Invoices").json()["Invoices"]
                   if i["Status"] == "AUTHORISED" and i["Type"] == "ACCREC" and not i["AmountPaid"])
    form = {"tenant_id": HARBOUR_ID, "invoice_id": invoice["InvoiceID"], "amount": "500.00", "date": "2026-12-03"}
    answer = requests.post(f"{server.url}/ledger/payments", data=form, allow_redirects=False, timeout=5)
    assert answer.status_code == 303
    after = api.get(f"/Invoices/{invoice['InvoiceID']}").json()["Invoices"][0]
    assert after["AmountPaid"] == 500 and after["Payments"][0]["Date"].startswith("/Date(")
    refused = requests.post(f"{server.url}/ledger/payments", data=dict(form, amount="999999"), timeout=5)
    assert "Payment refused" in refused.text
    # disconnect: Factory is no longer listed
    requests.post(f"{server.url}/xero/connect/revocation", auth=(CLIENT, SECRET), data={"token": tokens["refresh_token"]},
                  timeout=5)
    assert "No connected apps" in requests.get(f"{server.url}/ledger", timeout=5).text.split("Second Brand")[0]


def test_state_survives_a_restart(tmp_path):
    path = tmp_path / "keep.db"
    with SandboxServer(path, CLIENT, SECRET, test_controls=True) as first:
        tokens = connect(first.url)
        Api(first.url, tokens["access_token"]).put("/Contacts", {"Contacts": [{"Name": "Persistent Pty Ltd"}]})
    with SandboxServer(path, CLIENT, SECRET) as second:
        api = Api(second.url, tokens["access_token"])
        found = api.get("/Contacts", params={"where": 'Name=="Persistent Pty Ltd"'}).json()["Contacts"]
        assert len(found) == 1
        assert requests.post(f"{second.url}/xero/connect/token", auth=(CLIENT, SECRET), timeout=5, data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).status_code == 200


def test_server_stop_and_start_again(tmp_path):
    running = SandboxServer(tmp_path / "s.db").start()
    url = running.url
    running.stop()
    running.stop()  # idempotent
    try:
        requests.get(f"{url}/.well-known/openid-configuration", timeout=2)
        raise AssertionError("still serving")
    except requests.ConnectionError:
        pass
    running.start()
    assert requests.get(f"{running.url}/xero/.well-known/openid-configuration", timeout=5).status_code == 200
    running.close()


def test_command_line_runs_and_stops_on_sigterm(tmp_path):
    port = free_port()
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root))
    process = subprocess.Popen([sys.executable, "-m", "sandbox", "--port", str(port), "--data",
                                str(tmp_path / "cli.db")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=root, env=env)
    try:
        from sandbox import FACES
        lines = [process.stdout.readline() for _ in range(2 + len(FACES))]  # the demo client, each face, the ledger
        text = "".join(lines)
        assert "factory-demo" in text and re.search(rf"Xero\s+http://127\.0\.0\.1:{port}/xero\s", text)
        assert re.search(rf"QuickBooks Online\s+http://127\.0\.0\.1:{port}/quickbooks\s", text)
        assert "/identity/connect/authorize" in text and "API /api.xro/2.0" in text
        assert f"ledger     http://127.0.0.1:{port}/ledger" in text
        doc = requests.get(f"http://127.0.0.1:{port}/xero/.well-known/openid-configuration", timeout=5).json()
        assert doc["issuer"] == f"http://127.0.0.1:{port}/xero"
        assert doc["authorization_endpoint"] == f"http://127.0.0.1:{port}/xero/identity/connect/authorize"
        assert requests.get(f"http://127.0.0.1:{port}/ledger", timeout=5).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=10)
    assert process.returncode == 0 and "stopped" in out


def test_the_bookkeeper_credits_an_invoice(server):
    """A credit note made on the bookkeeper's page and allocated to an invoice: the invoice
    owes that much less (and is PAID when it owes nothing), the note is listed with its
    allocation and nothing left to allocate; a credit above what is owed is refused."""
    api = Api(server.url, connect(server.url)["access_token"])
    invoice = next(i for i in api.get("/Invoices").json()["Invoices"]
                   if i["Status"] == "AUTHORISED" and i["Type"] == "ACCREC" and not i["AmountPaid"])
    due = invoice["AmountDue"]
    form = {"tenant_id": HARBOUR_ID, "credit": "100.00"}
    path = f"{server.url}/ledger/invoices/{invoice['InvoiceID']}/credit"
    assert "Credit note made" in requests.post(path, data=form, timeout=5).text
    after = api.get(f"/Invoices/{invoice['InvoiceID']}").json()["Invoices"][0]
    assert (after["AmountCredited"], after["AmountDue"], after["Status"]) == (100, due - 100, "AUTHORISED")
    assert after["CreditNotes"][0]["AppliedAmount"] == 100
    note = api.get(f"/CreditNotes/{after['CreditNotes'][0]['CreditNoteID']}").json()["CreditNotes"][0]
    assert (note["Type"], note["Status"], note["Total"], note["RemainingCredit"]) == ("ACCRECCREDIT", "PAID", 100, 0)
    assert note["Allocations"][0]["Invoice"]["InvoiceID"] == invoice["InvoiceID"]
    assert note["CreditNoteID"] not in {i["InvoiceID"] for i in api.get("/Invoices").json()["Invoices"]}
    assert "Credit refused" in requests.post(path, data=dict(form, credit=str(due)), timeout=5).text
    assert "Credit note made" in requests.post(path, data=dict(form, credit=str(due - 100)), timeout=5).text
    assert api.get(f"/Invoices/{invoice['InvoiceID']}").json()["Invoices"][0]["Status"] == "PAID"
