"""QuickBooks Online's face of the sandbox: Intuit's OAuth2 server (discovery, consent with
the company as `realmId`, tokens, revoke, userinfo) and the Accounting API v3
(/v3/company/{realmId}/...: companyinfo, query, cdc, Customer, Vendor, Item, Account,
TaxCode, TaxRate, Invoice and Bill reads, Customer, Vendor, Invoice and Bill writes with
SyncToken and requestid), mounted at
/quickbooks over the one set of books, answering in Intuit's shapes and Fault bodies.
Facts: ../shared/specs/API-NOTES.md (QuickBooks part) and Intuit's XSDs in
../shared/specs/qbo/xsd/.

Webhooks are CloudEvents signed with intuit-signature (webhooks.py). Not yet (issue 13): batch."""
from __future__ import annotations

import re
import uuid

from flask import Flask

__all__ = ["KEY", "DISPLAY_NAME", "PREFIX", "ENDPOINTS", "LIMITS", "build", "tenant_of", "error_answer",
           "malformed_body", "load_specs", "validator", "webhook_sender"]

KEY = "quickbooks"
DISPLAY_NAME = "QuickBooks Online"
PREFIX = "/quickbooks"
validator = None  # Intuit publishes XSDs, not OpenAPI files: records.py follows them by hand
LIMITS = {"per_minute": 500, "concurrent": 10, "per_day": 10**9}  # per realm (API-NOTES, limits)
ENDPOINTS = ("discovery /.well-known/openid_configuration, authorise /connect/oauth2, "
             "token /oauth2/v1/tokens/bearer, revoke /v2/oauth2/tokens/revoke, API /v3/company/{realmId}")
_REALM = re.compile(r"^/v3/company/([^/]+)/")


def build(sb) -> Flask:
    """The face as a Flask app (mounted at PREFIX by sandbox.app)."""
    from . import api, identity
    app = Flask("sandbox.faces.quickbooks")
    app.config["SANDBOX"] = sb
    identity.register(app, sb)
    api.register(app, sb)
    return app


def tenant_of(environ) -> str | None:
    """The realm a request names (its company), for the request log."""
    match = _REALM.match(environ.get("PATH_INFO") or "")
    return match.group(1) if match else None


def fault(status: int, code: str, message: str, detail: str, kind: str = "ValidationFault") -> dict:
    """Intuit's error body (IntuitRestServiceDef.xsd Fault/Error)."""
    from .records import stamp
    return {"Fault": {"Error": [{"Message": message, "Detail": detail, "code": code}], "type": kind},
            "time": stamp()}


def error_answer(status: int, fault_spec: dict) -> tuple[dict, list[tuple[str, str]]]:
    """What Intuit answers when it is down, over its limit, or failing."""
    if status == 429:
        return (fault(429, "3001", "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                      "The request limit was reached.", "SERVICE"), [])
    if status == 503:
        return (fault(503, "3003", "message=Service Unavailable; errorCode=003003; statusCode=503",
                      "The service is temporarily unavailable.", "SERVICE"), [])
    return (fault(status, "10000", "An application error has occurred while processing your request",
                  "System Failure Error: An unexpected error occurred while accessing or saving your data.",
                  "SystemFault"), [])


def malformed_body() -> bytes:
    """A 200 whose JSON was cut short."""
    return b'{"QueryResponse": {"Customer": [{"Id": "' + str(uuid.uuid4().int % 1000).encode() + b'", "Display'


def webhook_sender(url: str, key: str, clock, store=None):
    from .webhooks import WebhookSender
    return WebhookSender(url, key, clock, store)


def load_specs() -> None:
    """No spec files to load (see validator)."""
