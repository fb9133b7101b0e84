"""HTTP plumbing shared by the blueprints: login, tenancy, htmx responses, errors, toasts."""
from __future__ import annotations

import json
from functools import wraps
from urllib.parse import urlsplit

from flask import (
    Flask, abort, flash, g, get_flashed_messages, redirect, render_template, request, url_for,
)
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.routing import IntegerConverter

from .accounting import REGISTRY
from .extensions import db, htmx, login_manager
from .forms import MAX_ID
from . import jobs, sessions, templating

PACKAGE_PATH = f"<any({', '.join(REGISTRY)}):provider_key>"  # a route's package: one of the registry's
FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
PUBLIC_ENDPOINTS = {"static", "auth.login", "auth.signup", "auth.forgot_password", "auth.reset_password",
                    "health", "webhooks.receive"}


# --- tenancy --------------------------------------------------------------------------

def org_id() -> int:
    return current_user.organisation_id


def org_select(model):
    """SELECT model rows of the current user's organisation only."""
    return select(model).where(model.organisation_id == org_id())


def get_or_404(model, ident) -> object:
    """A row of the current organisation, or 404 (never 403) for anybody else's id."""
    row = db.session.get(model, ident)
    if row is None or row.organisation_id != org_id():
        abort(404)
    return row


def owned_or_none(model, ident: int | None):
    """A row of the current organisation by an id from the request (a filter's, a
    form's), or None: no id, no such row, or somebody else's."""
    row = db.session.get(model, ident) if ident else None
    return row if row is not None and row.organisation_id == org_id() else None


def admin_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)
    return wrapped


# --- redirects and htmx responses -----------------------------------------------------

def safe_next(target: str | None, default: str) -> str:
    """Only same-site relative paths; anything else falls back to default."""
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def redirect_to(url: str):
    """A redirect that also works for htmx requests (full page navigation)."""
    if htmx:
        return "", 200, {"HX-Redirect": url}
    return redirect(url)


def render_invalid(template: str, **context):
    """Re-render a form with its errors: 422 so htmx and tests can tell (htmx swaps it)."""
    return render_template(template, **context), 422


def toast_header(level: str, text: str) -> dict:
    return {"HX-Trigger": json.dumps({"toast": {"messages": [{"level": level, "text": text}]}})}


def refusal(message: str, status: int = 409, level: str = "error", **headers):
    """An htmx request refused: the message travels as a toast (which the page shows as
    text), nothing is swapped, and the body is empty plain text. A message (which may hold
    a name from the accounting package) never goes into the page as HTML."""
    return "", status, {**toast_header(level, message), "HX-Reswap": "none",
                        "Content-Type": "text/plain; charset=utf-8", **headers}


# --- app wiring -----------------------------------------------------------------------

class IdConverter(IntegerConverter):
    """`<int:...>` in a route: an id no database column can hold (the driver would fail
    on it) is read as 0, which no row has, so the route answers 404 as for any id that
    isn't there (refusing the match instead would answer 405 where another method's rule
    has the same path)."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        return number if number <= MAX_ID else 0


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    sessions.init_app(app)

    @login_manager.unauthorized_handler
    def unauthorized():
        target = request.full_path.rstrip("?") if request.method == "GET" else request.path
        if htmx:
            current = htmx.current_url
            if current:
                parts = urlsplit(current)
                target = parts.path + (f"?{parts.query}" if parts.query else "")
            login = url_for("auth.login", next=safe_next(target, "/"))
            return refusal("Your session has expired. Please log in again.", 401, "info", **{"HX-Redirect": login})
        flash("Please log in to continue.", "info")
        return redirect(url_for("auth.login", next=safe_next(target, "/")))

    @app.before_request
    def refuse_unexpected_bodies():
        """Factory's forms are web forms: any other body (JSON, say) is refused with 415
        and a file with 400 (no form takes one) before a form could read either as its
        fields. The webhooks read their raw body themselves."""
        if request.method in ("GET", "HEAD", "OPTIONS") or request.blueprint == "webhooks":
            return None
        if request.routing_exception is not None:
            return None  # no such page (404, 405): that is the answer, whatever the body
        if request.mimetype not in FORM_TYPES and (request.content_length or request.mimetype):
            abort(415)
        if request.files:
            abort(400)
        return None

    @app.before_request
    def refuse_nul_bytes():
        """No database stores NUL in text (PostgreSQL refuses it): say so instead of failing."""
        for values in (request.args, request.form):
            if any("\x00" in v for v in values.values()) or any("\x00" in k for k in values):
                abort(400)
        return None

    @app.before_request
    def require_login():
        if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
            return None
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return None

    @app.after_request
    def htmx_toasts(response):
        response.vary.add("HX-Request")
        if htmx and "HX-Redirect" not in response.headers and response.status_code < 300:
            messages = get_flashed_messages(with_categories=True)
            if messages:
                existing = json.loads(response.headers.get("HX-Trigger") or "{}")
                toast = existing.setdefault("toast", {"messages": []})
                toast["messages"].extend({"level": c, "text": m} for c, m in messages)
                response.headers["HX-Trigger"] = json.dumps(existing)
        return response

    @app.after_request
    def queue_note(response):
        """The work was saved, but Redis didn't take its job (jobs.queue_unavailable): say
        so (the outbox sweep sends it once Redis is back). Runs before htmx_toasts."""
        if jobs.queue_unavailable() and response.status_code < 400:
            flash("Saved. Factory's job queue is away for a moment: what goes to the accounting package "
                  "goes as soon as it is back. Nothing was lost.", "info")
        return response

    @app.route("/healthz")
    def health():
        return {"ok": True}

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        text = "This form has expired. Reload the page and try again."
        if htmx:
            return refusal(text, 400)
        return render_template("errors/error.html", code=400, message=text), 400

    def error_page(code: int, message: str):
        if htmx:
            return refusal(message, code)
        return render_template("errors/error.html", code=code, message=message), code

    app.register_error_handler(400, lambda e: error_page(400, "Some of what was sent can't be read. Check it and try again."))
    app.register_error_handler(403, lambda e: error_page(403, "Only an administrator can do that."))
    app.register_error_handler(404, lambda e: error_page(404, "We couldn't find that page."))
    app.register_error_handler(405, lambda e: error_page(405, "That action isn't allowed here."))
    app.register_error_handler(413, lambda e: error_page(413, "That request is too large."))
    app.register_error_handler(415, lambda e: error_page(415, "Factory takes this as a web form only."))

    @app.errorhandler(500)
    def server_error(error):
        _rollback_quietly()
        return error_page(500, "Something went wrong on our side. Nothing was saved.")

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(error):
        """The database can't be reached (stopped, restarting, a network cut): 503 with a
        page that says so and that nothing saved is lost, never a bare 500. The page needs
        no database (the user counts as anonymous for it)."""
        _rollback_quietly()
        g._login_user = login_manager.anonymous_user()
        g.database_down = True
        app.logger.warning("database unavailable: %s", error)
        text = "Factory can't reach its database just now. Nothing you saved is lost; try again in a minute."
        if htmx:
            return refusal(text, 503, **{"Retry-After": "30"})
        return render_template("errors/unavailable.html", message=text), 503, {"Retry-After": "30"}

    templating.init_app(app)


def _rollback_quietly() -> None:
    """Roll back what a failed request left; with the database gone that fails too, and
    the pool's pre-ping throws the dead connection away on its next use."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001
        pass


