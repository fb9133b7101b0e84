"""Settings > Integrations: connect, choose an organisation, disconnect (administrators)."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, render_template, request, url_for
from flask_login import current_user

from ..accounting import connections as conn_service
from ..accounting import provider as get_provider
from ..accounting import providers
from ..accounting.connections import ConnectError
from ..extensions import db, htmx
from ..models import PendingAuthorisation
from ..web import admin_required, get_or_404, org_id, redirect_to

bp = Blueprint("integrations", __name__, url_prefix="/settings/integrations")
PROVIDER = "<any(xero):provider_key>"


@bp.before_request
@admin_required
def only_admins():
    return None


def redirect_uri(provider_key: str) -> str:
    configured = current_app.config.get(f"{provider_key.upper()}_REDIRECT_URI")
    return configured or url_for("integrations.callback", provider_key=provider_key, _external=True)


def page_context():
    connection = conn_service.current_connection(org_id())
    return {"connection": connection, "providers": providers(),
            "provider": get_provider(connection.provider) if connection else None,
            "sandbox_url": current_app.config.get("SANDBOX_URL")}


@bp.route("")
def index():
    template = "integrations/_panel.html" if htmx and htmx.target == "integration-panel" else "integrations/index.html"
    return render_template(template, **page_context())


@bp.route(f"/{PROVIDER}/connect", methods=["POST"])
def connect(provider_key):
    try:
        url = conn_service.start_connect(org_id(), current_user.id, provider_key, redirect_uri(provider_key))
    except ConnectError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect_to(url_for("integrations.index"))
    db.session.commit()
    return redirect_to(url)


@bp.route(f"/{PROVIDER}/callback")
def callback(provider_key):
    try:
        outcome = conn_service.finish_connect(
            org_id(), current_user.id, provider_key, state=request.args.get("state"),
            code=request.args.get("code"), error=request.args.get("error"),
            redirect_uri=redirect_uri(provider_key))
    except ConnectError as exc:
        db.session.commit()  # a spent state stays spent
        flash(exc.message, "error")
        return redirect_to(url_for("integrations.index"))
    db.session.commit()
    if outcome.pending is not None:
        return redirect_to(url_for("integrations.choose", pending_id=outcome.pending.id))
    flash(f"Connected to {outcome.connection.remote_org_name}.", "success")
    return redirect_to(url_for("integrations.index"))


@bp.route("/choose/<int:pending_id>", methods=["GET", "POST"])
def choose(pending_id):
    pending = get_or_404(PendingAuthorisation, pending_id)
    if pending.user_id != current_user.id:
        abort(404)
    try:
        outcome = conn_service.pending_choice(org_id(), current_user.id, pending_id)
        if request.method == "POST":
            connection = conn_service.choose_organisation(org_id(), current_user.id, pending_id,
                                                          request.form.get("remote_org_id", ""))
            db.session.commit()
            flash(f"Connected to {connection.remote_org_name}.", "success")
            return redirect_to(url_for("integrations.index"))
    except ConnectError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        if request.method == "POST" and "Choose one" in exc.message:
            outcome = conn_service.pending_choice(org_id(), current_user.id, pending_id)
            return render_template("integrations/choose.html", outcome=outcome,
                                   provider=get_provider(outcome.pending.provider)), 422
        return redirect_to(url_for("integrations.index"))
    return render_template("integrations/choose.html", outcome=outcome,
                           provider=get_provider(outcome.pending.provider))


@bp.route("/disconnect", methods=["POST"])
def disconnect():
    connection = conn_service.current_connection(org_id())
    if connection is None:
        flash("Nothing is connected.", "info")
        return redirect_to(url_for("integrations.index"))
    name, package = connection.remote_org_name, get_provider(connection.provider).display_name
    result = conn_service.disconnect(connection)
    db.session.commit()
    if result.problems:
        flash(f"Disconnected from {name} in Factory. But: " + " ".join(result.problems)
              + f" You can remove Factory under Connected apps in {package}.", "error")
    else:
        flash(f"Disconnected from {name}. Factory is no longer a connected app in {package}; "
              "your Factory data stays as it was.", "success")
    return redirect_to(url_for("integrations.index"))


@bp.app_context_processor
def reconnect_banner():
    """Administrators see, on every page, that a connection needs reconnecting."""
    if not (current_user.is_authenticated and current_user.is_admin):
        return {}
    connection = conn_service.current_connection(current_user.organisation_id)
    if connection is None or connection.status != "needs_reconnect":
        return {}
    return {"reconnect_needed": connection, "reconnect_package": get_provider(connection.provider)}
