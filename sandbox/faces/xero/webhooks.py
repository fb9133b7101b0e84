"""Xero webhooks: events are batched and POSTed from a background thread, signed with
x-xero-signature = base64(HMAC-SHA256(webhook key, raw body)); failed deliveries are
retried a few times; nothing here can crash the sandbox."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import queue
import secrets
import threading
from datetime import datetime, timezone

log = logging.getLogger("sandbox.webhooks")


def sign(key: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def _post(url: str, body: bytes, signature: str, timeout: float = 5.0) -> int:
    import requests
    response = requests.post(url, data=body, timeout=timeout,
                             headers={"Content-Type": "application/json", "x-xero-signature": signature,
                                      "User-Agent": "Xero-Webhooks-Sandbox"})
    return response.status_code


class WebhookSender:
    def __init__(self, url: str, key: str, clock, prefix: str = "", retries: int = 3, backoff: float = 0.5):
        self.url, self.key, self.clock = url, key, clock
        self.prefix = prefix  # where the face is mounted: resource URLs point into it
        self.retries, self.backoff = retries, backoff
        self.queue: queue.Queue = queue.Queue()
        self.sequence = 0
        self.deliveries: list[dict] = []  # what was sent, for /__sandbox/state
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self.thread.start()

    def event(self, root_url: str, tenant: str, record_kind: str, change: str, resource_id: str):
        """A change of the books (sandbox/ledger/common.py: a "contact" or "document"
        or "credit" note created or updated) as Xero's event: CONTACT, INVOICE or CREDITNOTE,
        CREATE or UPDATE."""
        category, path = {"document": ("INVOICE", "Invoices"), "credit": ("CREDITNOTE", "CreditNotes")}.get(
            record_kind, ("CONTACT", "Contacts"))
        kind = change.upper()
        moment = datetime.fromtimestamp(self.clock.now(), tz=timezone.utc)
        self.queue.put({"resourceUrl": f"{root_url}{self.prefix}/api.xro/2.0/{path}/{resource_id}", "resourceId": resource_id,
                        "tenantId": tenant, "tenantType": "ORGANISATION", "eventCategory": category,
                        "eventType": kind,
                        "eventDateUtc": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"})

    def intent_to_receive(self) -> dict:
        return intent_to_receive(self.url, self.key)

    def stop(self):
        self.stopped.set()
        self.queue.put(None)

    def _run(self):
        while not self.stopped.is_set():
            first = self.queue.get()
            if first is None:
                return
            events = [first]
            try:
                while len(events) < 50:
                    more = self.queue.get(timeout=0.05)
                    if more is None:
                        self.stopped.set()
                        break
                    events.append(more)
            except queue.Empty:
                pass
            try:
                self._deliver(events)
            except Exception:  # noqa: BLE001 - a webhook must never take the sandbox down
                log.exception("webhook delivery failed")

    def _deliver(self, events: list[dict]):
        with self.lock:
            first = self.sequence + 1
            self.sequence += len(events)
            last = self.sequence
        body = json.dumps({"events": events, "firstEventSequence": first, "lastEventSequence": last,
                           "entropy": secrets.token_hex(10).upper()}).encode()
        status, attempt = None, 0
        for attempt in range(1, self.retries + 1):
            try:
                status = _post(self.url, body, sign(self.key, body))
                if 200 <= status < 300:
                    break
            except Exception as exc:  # noqa: BLE001
                status = f"error: {exc.__class__.__name__}"
            if self.stopped.wait(self.backoff * attempt):
                break
        self.deliveries.append({"events": len(events), "firstEventSequence": first, "status": status,
                                "attempts": attempt})
        del self.deliveries[:-100]


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
