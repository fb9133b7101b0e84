"""Xero's face of the sandbox: its identity service and accounting API (paths, shapes,
query language, errors, limits and webhooks), mounted at /xero over the one set of books,
and checked against Xero's OpenAPI files (specval.py) when the sandbox validates.

What the core's middleware asks of a face (sandbox/core/middleware.py) is here; the
routes are in identity.py and api.py."""
from __future__ import annotations

import uuid

from flask import Flask

from . import raw, specval  # raw: what the core's raw-records control needs (RAW_KINDS, raw_id)
from .webhooks import WebhookSender

__all__ = ["KEY", "DISPLAY_NAME", "PREFIX", "ENDPOINTS", "build", "tenant_of", "error_answer", "malformed_body",
           "webhook_sender", "load_specs", "validator", "raw"]

KEY = "xero"
DISPLAY_NAME = "Xero"
PREFIX = "/xero"
validator = specval
ENDPOINTS = ("discovery /.well-known/openid-configuration, authorise /identity/connect/authorize, "
             "token /connect/token, API /api.xro/2.0, connections /connections")


def build(sb) -> Flask:
    """The face as a Flask app (mounted at PREFIX by sandbox.app)."""
    from . import api, identity
    app = Flask("sandbox.faces.xero")
    app.config["SANDBOX"] = sb
    identity.register(app, sb)
    api.register(app, sb)
    return app


def tenant_of(environ) -> str | None:
    return environ.get("HTTP_XERO_TENANT_ID")


def error_answer(status: int, fault: dict) -> tuple[dict, list[tuple[str, str]]]:
    """What Xero answers when it is down, over its limit, or failing."""
    if status == 429:
        return ({"Title": "Too Many Requests", "Status": 429, "Detail": "Rate limit exceeded"},
                [("Retry-After", str(int(fault.get("retry_after") or 60))),
                 ("X-Rate-Limit-Problem", fault.get("problem") or "minute")])
    if status == 503:
        return ({"Title": "Service Unavailable", "Status": 503,
                 "Detail": "The Xero API is currently unavailable. Please try again later."}, [])
    return ({"Title": "An error occurred", "Status": status,
             "Detail": "An error occurred in Xero. Check the API Status page "
                       "http://status.developer.xero.com for current service status."}, [])


def malformed_body() -> bytes:
    """A 200 whose JSON was cut short."""
    return b'{"Id": "' + str(uuid.uuid4()).encode() + b'", "Status": "OK", "Contacts": [{"Name": "Trunc'


def webhook_sender(url: str, key: str, clock, store=None) -> WebhookSender:
    return WebhookSender(url, key, clock, prefix=PREFIX)


def load_specs() -> None:
    specval.load("xero_accounting.yaml")
    specval.load("xero-identity.yaml")
