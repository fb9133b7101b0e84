"""A local server that behaves like Xero's API (identity, connections, accounting,
webhooks) so Factory's Xero adapter can be developed, tested and demoed offline.

    from sandbox import create_app
    app = create_app("sandbox.db", "client-id", "client-secret", test_controls=True)

Spec vs documented behaviour, where they differ, follows the spec for shapes:
- /connections timestamps carry a trailing "Z" (Xero sends none; the spec says date-time).
- Invoice.Date/DueDate and Payment.Date are MS-JSON dates (the spec marks them x-is-msdate);
  DateString/DueDateString carry the plain ISO form as Xero does.
The id_token and access_token are JWTs signed HS256 with the client secret.
See books.py for the accounting rules chosen where Xero's docs leave room.
This package never imports factory_app.
"""
from __future__ import annotations

__all__ = ["FACES", "create_app"]

# the packages it speaks for (each at its own face; today one, at the root)
FACES = ("xero",)


def create_app(data_path: str, client_id: str, client_secret: str, *, webhook_url: str | None = None,
               webhook_key: str | None = None, test_controls: bool = False, validate_spec: bool = False,
               limits: dict | None = None, redirect_uris: list[str] | None = None):
    """The sandbox as a Flask app. `data_path` is its SQLite file (seeded on first use).
    `limits` overrides {"per_minute": 60, "concurrent": 5, "per_day": 5000, "app_per_minute": 10000}.
    `redirect_uris`, when given, is the list of redirect URIs the app registered (else any is accepted).
    The app's `.config["SANDBOX"]` holds its state; `.config["SANDBOX"].spec_violations` the spec problems
    (and `.spec_exempted` those of records a test stored raw, off-spec on purpose: not violations)."""
    from .app import Middleware, Sandbox, build_app
    sandbox = Sandbox(data_path, client_id, client_secret, webhook_url, webhook_key, test_controls,
                      validate_spec, limits, redirect_uris)
    app = build_app(sandbox)
    app.wsgi_app = Middleware(app.wsgi_app, sandbox)
    app.spec_violations = sandbox.spec_violations
    return app
