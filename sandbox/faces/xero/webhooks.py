"""Xero webhooks: {"events": [...], firstEventSequence, lastEventSequence, entropy},
signed with x-xero-signature = base64(HMAC-SHA256(webhook key, raw body)); the batching,
retries and back-off are the core's (sandbox/core/webhooks.py)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import datetime, timezone

from ...core.webhooks import BatchSender, post


def sign(key: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def _headers(signature: str) -> dict:
    return {"Content-Type": "application/json", "x-xero-signature": signature, "User-Agent": "Xero-Webhooks-Sandbox"}


def _post(url: str, body: bytes, signature: str, timeout: float = 5.0) -> int:
    return post(url, body, _headers(signature), timeout)


class WebhookSender(BatchSender):
    def __init__(self, url: str, key: str, clock, prefix: str = "", retries: int = 3, backoff: float = 0.5):
        self.prefix = prefix  # where the face is mounted: resource URLs point into it
        self.sequence = 0
        super().__init__(url, key, clock, retries, backoff)

    def event(self, root_url: str, tenant: str, record_kind: str, change: str, resource_id: str):
        """A change of the books (sandbox/ledger/common.py: a "contact" or "document"
        or "credit" note created or updated) as Xero's event: CONTACT, INVOICE or CREDITNOTE,
        CREATE or UPDATE."""
        category, path = {"document": ("INVOICE", "Invoices"), "credit": ("CREDITNOTE", "CreditNotes")}.get(
            record_kind, ("CONTACT", "Contacts"))
        moment = datetime.fromtimestamp(self.clock.now(), tz=timezone.utc)
        self.put({"resourceUrl": f"{root_url}{self.prefix}/api.xro/2.0/{path}/{resource_id}", "resourceId": resource_id,
                  "tenantId": tenant, "tenantType": "ORGANISATION", "eventCategory": category,
                  "eventType": change.upper(),
                  "eventDateUtc": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"})

    def intent_to_receive(self) -> dict:
        return intent_to_receive(self.url, self.key)

    def body(self, events: list[dict]) -> tuple[bytes, dict]:
        with self.lock:
            first = self.sequence + 1
            self.sequence += len(events)
            last = self.sequence
        return json.dumps({"events": events, "firstEventSequence": first, "lastEventSequence": last,
                           "entropy": secrets.token_hex(10).upper()}).encode(), {"firstEventSequence": first}

    def headers(self, body: bytes) -> dict:
        return _headers(sign(self.key, body))


def intent_to_receive(url: str, key: str) -> dict:
    """Xero's handshake: empty-event payloads, some correctly signed (expect 200, empty
    body) and some not (expect 401)."""
    results = []
    for good in (True, False, True, False):
        body = json.dumps({"events": [], "firstEventSequence": 0, "lastEventSequence": 0,
                           "entropy": secrets.token_hex(10).upper()}).encode()
        signature = sign(key, body) if good else sign(key + "-wrong", body)
        expected = 200 if good else 401
        try:
            status = _post(url, body, signature)
        except Exception as exc:  # noqa: BLE001
            status = f"error: {exc.__class__.__name__}"
        results.append({"signed_correctly": good, "expected": expected, "status": status,
                        "passed": status == expected})
    return {"passed": all(r["passed"] for r in results), "results": results}
