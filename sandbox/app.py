"""The sandbox as one WSGI app: one set of books (the ledger) with every face mounted at
its own prefix (Xero's at /xero), the bookkeeper's page at /ledger (and /), and the test
controls at /__sandbox when asked for.

    root app (Flask)          /ledger..., /__sandbox/...         sandbox/ledger/routes.py, core/controls.py
      /xero -> Middleware -> the Xero face (Flask)              sandbox/faces/xero/

Each face sits behind the core's middleware (request log, faults and misbehaviour in its
package's error shape, spec validation), which sees the face's own paths: a fault queued
for "/api.xro/2.0/Invoices" meets Xero's invoices, whatever the prefix."""
from __future__ import annotations

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from . import faces as face_registry
from .core import controls
from .core.middleware import Middleware
from .core.state import Sandbox
from .ledger import demo, routes


def build(data_path, client_id, client_secret, *, faces=face_registry.FACES, webhook_url=None, webhook_key=None,
          test_controls=False, validate_spec=False, limits=None, redirect_uris=None) -> Flask:
    mounted = [face_registry.load(key) for key in faces]
    sb = Sandbox(data_path, client_id, client_secret, webhook_url, webhook_key, test_controls, validate_spec,
                 limits, redirect_uris, faces=mounted, seeder=demo.plant)
    app = Flask("sandbox")
    app.config["SANDBOX"] = sb
    routes.register(app, sb)
    if test_controls:
        controls.register(app, sb)
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {
        face.PREFIX: Middleware(face.build(sb).wsgi_app, sb, face) for face in mounted})
    app.spec_violations = sb.spec_violations
    return app
