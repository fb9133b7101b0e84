"""Security headers on every response (Flask-Talisman).

- Content-Security-Policy: scripts, styles, images and XHR from Factory itself only. No
  inline script, no inline handler (`onclick=...`), no inline style attribute, no eval:
  templates never put data inside JavaScript; behaviour comes from static/app.js reading
  data attributes (`data-confirm`, `data-dismiss`), and htmx runs with eval and its
  injected indicator styles switched off (base.html's htmx-config; the styles are in
  app.css). `frame-ancestors 'none'` (and X-Frame-Options: DENY) refuse framing.
- X-Content-Type-Options: nosniff; Referrer-Policy: same-origin (a URL never leaves
  Factory in a Referer header).
- Strict-Transport-Security when the session cookie is secure (SESSION_COOKIE_SECURE=1,
  i.e. behind HTTPS). Redirecting http to https is left to the proxy that ends TLS.
"""
from __future__ import annotations

from flask import Flask
from flask_talisman import Talisman

CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
}

talisman = Talisman()


def init_app(app: Flask) -> None:
    secure = bool(app.config.get("SESSION_COOKIE_SECURE"))
    talisman.init_app(
        app,
        force_https=False,
        strict_transport_security=secure,
        strict_transport_security_max_age=365 * 24 * 3600,
        session_cookie_secure=secure,
        session_cookie_http_only=True,
        session_cookie_samesite=app.config.get("SESSION_COOKIE_SAMESITE", "Lax"),
        frame_options="DENY",
        content_security_policy=CONTENT_SECURITY_POLICY,
        referrer_policy="same-origin",
        x_content_type_options=True,
    )
