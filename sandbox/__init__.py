"""A local server that speaks the accounting packages' APIs over one set of books, so
Factory's adapters can be developed, tested and demoed offline.

    from sandbox import create_app
    app = create_app("sandbox.db", "client-id", "client-secret", test_controls=True)

Layout: core/ (store, clock, limits, the middleware in front of each face, OAuth2 pieces,
the test controls, the in-process server for tests), ledger/ (the books and their rules,
the demo story's seed, the bookkeeper's page), faces/<package>/ (that package's paths,
shapes, errors and limits over the books, each mounted at /<package>), app.py (the
wiring). The books' records are package-neutral (snake_case fields, listed in each
ledger module); every face translates them into its package's shapes and back. Xero's
face: spec vs documented behaviour, where they differ, follows the spec for shapes.
This package never imports factory_app.
"""
from __future__ import annotations

from .faces import FACES

__all__ = ["FACES", "create_app"]


def create_app(data_path: str, client_id: str, client_secret: str, *, faces=FACES, webhook_url: str | None = None,
               webhook_key: str | None = None, test_controls: bool = False, validate_spec: bool = False,
               limits: dict | None = None, redirect_uris: list[str] | None = None):
    """The sandbox as a Flask app. `data_path` is its SQLite file (seeded on first use);
    `faces` the packages it speaks for, each at /<key> (all of them by default).
    `limits` overrides {"per_minute": 60, "concurrent": 5, "per_day": 5000, "app_per_minute": 10000}.
    `redirect_uris`, when given, is the list of redirect URIs the app registered (else any is accepted).
    The app's `.config["SANDBOX"]` holds its state; `.config["SANDBOX"].spec_violations` the spec problems
    (and `.spec_exempted` those of records a test stored raw, off-spec on purpose: not violations)."""
    from .app import build
    return build(data_path, client_id, client_secret, faces=faces, webhook_url=webhook_url,
                 webhook_key=webhook_key, test_controls=test_controls, validate_spec=validate_spec,
                 limits=limits, redirect_uris=redirect_uris)
