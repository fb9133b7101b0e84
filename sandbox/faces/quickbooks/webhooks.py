"""QuickBooks webhooks in the CloudEvents format Intuit moved every app to in 2026: the
body is a JSON array of events {specversion "1.0", id, source, type
"qbo.<entity>.<created|updated|deleted|voided>.v1", datacontenttype, time,
intuitentityid, intuitaccountid (the realm), data}, signed with intuit-signature =
base64(HMAC-SHA256(the app's verifier token, raw body)). A books contact that is both a
customer and a supplier is two entities (Customer N, Vendor M): each gets its event.
Batching, retries and back-off are the core's (sandbox/core/webhooks.py)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid

from ...core.webhooks import BatchSender
from . import records
from .identity import realm_of


def sign(key: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


class WebhookSender(BatchSender):
    thread_name = "sandbox-webhooks-quickbooks"

    def __init__(self, url: str, key: str, clock, store, retries: int = 3, backoff: float = 0.5):
        self.store = store
        super().__init__(url, key, clock, retries, backoff)

    def entities(self, tenant: str, record_kind: str, change: str, record_id: str) -> list[tuple[str, str, str]]:
        """(entity, its id, what happened) for a change of the books, as QuickBooks shows it."""
        store = self.store
        if record_kind == "contact":
            record = store.get_contact(tenant, record_id)
            roles = [(entity, kind) for entity, kind, flag in (("Customer", "customer", "is_customer"),
                                                                ("Vendor", "vendor", "is_supplier"))
                     if record and record.get(flag)]
            return [(entity, records.number(store, tenant, kind, record_id), f"{change}d") for entity, kind in roles]
        if record_kind == "document":
            record = store.get_invoice(tenant, record_id)
            if record is None or record["kind"] not in ("sale", "purchase"):
                return []
            entity, kind = ("Invoice", "invoice") if record["kind"] == "sale" else ("Bill", "bill")
            happened = {"deleted": "deleted", "voided": "voided"}.get(record["status"], f"{change}d")
            return [(entity, records.number(store, tenant, kind, record_id), happened)]
        return []  # credit notes: not served by this face yet

    def event(self, root_url: str, tenant: str, record_kind: str, change: str, resource_id: str):
        realm = realm_of(self.store, tenant)
        for entity, number, happened in self.entities(tenant, record_kind, change, resource_id):
            self.put({"specversion": "1.0", "id": str(uuid.uuid4()), "source": f"{root_url}/quickbooks",
                      "type": f"qbo.{entity.lower()}.{happened}.v1", "datacontenttype": "application/json",
                      "time": records.stamp(self.clock.now() * 1000), "intuitentityid": number,
                      "intuitaccountid": realm, "data": {}})

    def body(self, events: list[dict]) -> tuple[bytes, dict]:
        return json.dumps(events).encode(), {}

    def headers(self, body: bytes) -> dict:
        return {"Content-Type": "application/json", "intuit-signature": sign(self.key, body),
                "User-Agent": "Intuit-Webhooks-Sandbox"}
