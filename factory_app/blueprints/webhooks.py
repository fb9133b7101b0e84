"""Webhooks from accounting packages. No session, no CSRF: the signature is the proof."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json

from flask import Blueprint, current_app, request

from ..accounting import push as push_service
from ..extensions import csrf, db

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


def valid_signature(key: str, body: bytes, signature: str | None) -> bool:
    """base64(HMAC-SHA256(key, body)), compared in constant time as bytes (a header may
    hold any characters; compare_digest refuses non-ASCII text)."""
    if not key or not signature:
        return False
    expected = base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, signature.encode("utf-8", "surrogateescape"))


@bp.route("/xero", methods=["POST"])
@csrf.exempt
def xero():
    """Xero's INVOICE events refresh the payment state of invoices Factory sent. A bad or
    missing signature is 401 (that is also how the intent-to-receive handshake is passed);
    a good one is 200 with an empty body, within Xero's 5 seconds (the work is queued)."""
    body = request.get_data(cache=False)
    if not valid_signature(current_app.config.get("XERO_WEBHOOK_KEY", ""), body,
                           request.headers.get("x-xero-signature")):
        return "", 401
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        return "", 200  # signed but unreadable: nothing to do, and no point in Xero retrying
    events = payload.get("events") if isinstance(payload, dict) else None
    if isinstance(events, list) and events:
        push_service.handle_webhook_events([e for e in events if isinstance(e, dict)])
        db.session.commit()
    return "", 200
