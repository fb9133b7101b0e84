"""Settings > Integrations: connect, choose an organisation, disconnect (administrators)."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, render_template, request, url_for
from flask_login import current_user

from ..accounting import connections as conn_service
from ..accounting import provider as get_provider
from ..accounting import providers
from ..accounting.connections import ConnectError
from ..extensions import db, htmx
from ..accounting import sync as sync_service
from ..accounting.base import ProviderError
from ..models import ImportReview, Party, PendingAuthorisation, RemoteRecord, SyncFailure, SyncRun
from ..web import admin_required, get_or_404, org_id, org_select, redirect_to, toast_header

bp = Blueprint("integrations", __name__, url_prefix="/settings/integrations")
LOG_PAGE = 20
bp.add_app_template_global(sync_service.summary, "sync_summary")
PROVIDER = "<any(xero):provider_key>"


@bp.before_request
@admin_required
def only_admins():
    return None


def redirect_uri(provider_key: str) -> str:
    configured = current_app.config.get(f"{provider_key.upper()}_REDIRECT_URI")
    return configured or url_for("integrations.callback", provider_key=provider_key, _external=True)


def _after_connect(connection) -> None:
    """A first "Update accounting data" starts by itself (the accounts and tax rates to map,
    the contacts to link to), and documents that waited for a reconnect go out now."""
    from ..accounting import push as push_service
    try:
        sync_service.start_run(connection.organisation_id, current_user.id, "sync")
    except ProviderError:
        pass  # another request is starting one: the page shows it
    push_service.resume_waiting(connection.organisation_id)
    db.session.commit()


def page_context():
    connection = conn_service.current_connection(org_id())
    context = {"connection": connection, "providers": providers(),
               "provider": get_provider(connection.provider) if connection else None,
               "sandbox_url": current_app.config.get("SANDBOX_URL")}
    if connection is not None:
        latest = {}
        for run in db.session.scalars(org_select(SyncRun).where(SyncRun.kind != "create_contact")
                                      .order_by(SyncRun.id.desc()).limit(20)):
            latest.setdefault(run.kind, run)
        reviews = db.session.scalars(org_select(ImportReview).where(
            ImportReview.status == "open", ImportReview.remote_org_id == connection.remote_org_id)
            .order_by(ImportReview.id)).all()
        ids = {int(i) for r in reviews for i in r.candidate_ids.split(",") if i}
        candidates = {p.id: p for p in db.session.scalars(org_select(Party).where(Party.id.in_(ids)))} if ids else {}
        context.update(latest_runs=latest, reviews=reviews, candidates=candidates, **remote_choices(connection),
                       **log_context())
    return context


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
    _after_connect(outcome.connection)
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
            _after_connect(connection)
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


# --- imports, "Update accounting data", review list, sync log, mapping ------------------

def _run_or_404(run_id: int) -> SyncRun:
    return get_or_404(SyncRun, run_id)


@bp.route("/runs", methods=["POST"])
def start_run():
    kind = request.form.get("kind", "")
    if kind not in ("import_customers", "import_suppliers", "sync"):
        abort(400)
    try:
        run = sync_service.start_run(org_id(), current_user.id, kind)
    except ProviderError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect_to(url_for("integrations.index"))
    db.session.commit()  # before the job is enqueued (after_commit)
    if htmx:
        return render_template("integrations/_run.html", run=run)
    return redirect_to(url_for("integrations.index"))


@bp.route("/runs/<int:run_id>")
def show_run(run_id):
    """The progress component; it polls itself while the run is queued or running."""
    return render_template("integrations/_run.html", run=_run_or_404(run_id))


@bp.route("/reviews/<int:review_id>", methods=["POST"])
def resolve_review(review_id):
    review = get_or_404(ImportReview, review_id)
    try:
        local_id = int(request.form.get("local_id") or 0) or None
    except ValueError:
        local_id = None
    try:
        sync_service.resolve_review(review, request.form.get("action", ""), local_id)
    except ProviderError as exc:
        db.session.rollback()
        return exc.message, 422, toast_header("error", exc.message)
    db.session.commit()
    return render_template("integrations/_review_row.html", review=review, candidates={})


@bp.route("/reviews", methods=["POST"])
def resolve_all_reviews():
    action = request.form.get("action", "")
    if action not in ("create", "skip"):
        abort(400)
    connection = conn_service.current_connection(org_id())
    if connection is None:
        abort(404)
    problems = 0
    for review in db.session.scalars(org_select(ImportReview).where(
            ImportReview.status == "open", ImportReview.remote_org_id == connection.remote_org_id)):
        try:
            with db.session.begin_nested():
                sync_service.resolve_review(review, action)
        except ProviderError:
            problems += 1
    db.session.commit()
    if problems:
        flash(f"{problems} could not be resolved automatically; they stay in the list.", "error")
    flash("Every open review was " + ("created as new records." if action == "create" else "skipped."), "success")
    return redirect_to(url_for("integrations.index"))


@bp.route("/log")
def log():
    return render_template("integrations/_log.html", **log_context())


def log_context():
    status = request.args.get("status", "")
    try:
        page = min(max(1, int(request.args.get("page", 1))), 10_000)
    except ValueError:
        page = 1
    query = org_select(SyncRun)
    if status in ("queued", "running", "done", "failed"):
        query = query.where(SyncRun.status == status)
    runs = db.session.scalars(query.order_by(SyncRun.id.desc()).limit(LOG_PAGE + 1).offset((page - 1) * LOG_PAGE)).all()
    failures = {}
    ids = [r.id for r in runs[:LOG_PAGE]]
    if ids:
        for failure in db.session.scalars(org_select(SyncFailure).where(SyncFailure.run_id.in_(ids))):
            failures.setdefault(failure.run_id, []).append(failure)
    return {"runs": runs[:LOG_PAGE], "has_more": len(runs) > LOG_PAGE, "page": page, "status": status,
            "failures": failures}


@bp.route("/failures/<int:failure_id>/retry", methods=["POST"])
def retry_failure(failure_id):
    failure = get_or_404(SyncFailure, failure_id)
    run = db.session.get(SyncRun, failure.run_id)
    try:
        if run.kind == "create_contact" and failure.local_id:
            party = db.session.get(Party, failure.local_id)
            if party is None or party.organisation_id != org_id():
                abort(404)
            sync_service.request_remote_contact(party, current_user.id)
        else:
            sync_service.start_run(org_id(), current_user.id, run.kind if run.kind != "create_contact" else "sync")
    except ProviderError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect_to(url_for("integrations.index"))
    failure.resolved = True
    db.session.commit()
    flash("Trying again.", "success")
    return redirect_to(url_for("integrations.index"))


@bp.route("/mapping", methods=["POST"])
def mapping():
    connection = conn_service.current_connection(org_id())
    if connection is None:
        abort(404)
    records = remote_choices(connection)
    allowed = {"sales_account_code": records["accounts"], "purchase_account_code": records["accounts"],
               "tax_code_taxable": records["tax_rates"], "tax_code_free": records["tax_rates"]}
    for field, options in allowed.items():
        value = request.form.get(field) or None
        if value is not None and value not in {o.code for o in options}:
            flash("Choose from the lists (press Update accounting data if they are empty).", "error")
            return redirect_to(url_for("integrations.index"))
        setattr(connection, field, value)
    db.session.commit()
    flash("Account and tax mapping saved.", "success")
    return redirect_to(url_for("integrations.index"))


def remote_choices(connection):
    def records(kind):
        return db.session.scalars(org_select(RemoteRecord).where(
            RemoteRecord.provider == connection.provider, RemoteRecord.remote_org_id == connection.remote_org_id,
            RemoteRecord.kind == kind, RemoteRecord.archived.is_(False)).order_by(RemoteRecord.code)).all()
    return {"accounts": records("account"), "tax_rates": records("tax_rate")}


@bp.app_context_processor
def accounting_package():
    """Every page knows whether a package is connected (for "Also create in …", link controls)."""
    if not current_user.is_authenticated:
        return {}
    connection = conn_service.current_connection(current_user.organisation_id)
    if connection is None or connection.status != "active":
        return {"accounting": None}
    return {"accounting": {"connection": connection, "name": get_provider(connection.provider).display_name}}


@bp.route("/sending", methods=["POST"])
def sending():
    connection = conn_service.current_connection(org_id())
    if connection is None:
        abort(404)
    connection.send_invoices = request.form.get("send_invoices") == "y"
    connection.send_purchases = request.form.get("send_purchases") == "y"
    connection.approve_documents = request.form.get("status") == "approved"
    db.session.commit()
    flash("Sending settings saved.", "success")
    return redirect_to(url_for("integrations.index"))
