"""Xero's webhooks: `x-xero-signature` is base64(HMAC-SHA256(webhook key, raw body)), and
the body is {"events": [{"eventCategory": "INVOICE", "eventType": "UPDATE", "tenantId",
"resourceId", ...}], ...}. A bad or missing signature is refused (401), which is also how
Xero's intent-to-receive handshake is passed; Xero wants its answer within 5 seconds.

Xero's INVOICE events cover sales invoices (ACCREC) and bills (ACCPAY) alike, and say
which neither: the event is a "document" of that organisation.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Mapping

from ...base import WebhookEvent

SIGNATURE_HEADER = "x-xero-signature"
KINDS = {"INVOICE": WebhookEvent.DOCUMENT, "CONTACT": WebhookEvent.CONTACT}


def valid_signature(key: str, body: bytes, signature: str | None) -> bool:
    """Compared in constant time as bytes (a header may hold any characters;
    compare_digest refuses non-ASCII text)."""
    if not key or not signature:
        return False
    expected = base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, signature.encode("utf-8", "surrogateescape"))


def events(key: str, headers: Mapping[str, str], body: bytes) -> list[WebhookEvent] | None:
    """The request's events, or None when it isn't Xero's (the signature)."""
    if not valid_signature(key, body, headers.get(SIGNATURE_HEADER)):
        return None
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        return []  # signed but unreadable: nothing to do, and no point in Xero retrying
    found = []
    for item in payload.get("events") or [] if isinstance(payload, dict) else []:
        if not isinstance(item, dict):
            continue
        kind, remote_id = KINDS.get(item.get("eventCategory")), item.get("resourceId")
        if kind and remote_id:
            found.append(WebhookEvent(kind=kind, remote_org_id=str(item.get("tenantId") or ""),
                                      remote_id=str(remote_id)))
    return found
