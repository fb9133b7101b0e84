"""Settings > Integrations: connect, choose an organisation, disconnect (administrators)."""
from __future__ import annotations

from functools import cache, partial

from flask import Blueprint, abort, current_app, flash, g, render_template, request, url_for
from flask_login import current_user
from werkzeug.local import LocalProxy

from ..accounting import connections as conn_service
from ..accounting import mapping as mapping_service
from ..accounting import push as push_service
from ..accounting import package_states
from ..accounting import provider as get_provider
from ..accounting import all_providers
from ..accounting.connections import ConnectError
from ..accounting.settings import setting
from ..extensions import db, htmx
from ..forms import parse_id
from ..accounting import reviews as review_service
from ..accounting import runs as run_service
from ..accounting.base import ProviderError
from ..models import ImportReview, Party, PendingAuthorisation, SyncFailure, SyncRun
from ..web import PACKAGE_PATH, admin_required, get_or_404, org_id, org_select, redirect_to, refusal

bp = Blueprint("integrations", __name__, url_prefix="/settings/integrations")
LOG_PAGE = 20
bp.add_app_template_global(run_service.summary, "sync_summary")


@bp.before_request
@admin_required
def only_admins():
    return None


def redirect_uri(provider_key: str) -> str:
    """Where the package sends the user back: its REDIRECT_URI setting, else the callback
    under FACTORY_EXTERNAL_URL. Never built from the request's Host header, which the
    client chooses."""
    configured = setting(provider_key, "REDIRECT_URI")
    if configured:
        return configured
    base = (current_app.config.get("FACTORY_EXTERNAL_URL") or "http://127.0.0.1:5000").rstrip("/")
    return base + url_for("integrations.callback", provider_key=provider_key)


def _after_connect(connection) -> None:
    """A first "Update accounting data" starts by itself (the accounts and tax rates to map,
    the contacts to link to), and documents that waited for a reconnect go out now."""
    try:
        run_service.start_run(connection.organisation_id, current_user.id, "sync")
    except ProviderError:
        pass  # another request is starting one: the page shows it
    push_service.resume_waiting(connection.organisation_id)
    db.session.commit()


def page_context():
    connection = conn_service.current_connection(org_id())
    context = {"connection": connection, "providers": all_providers(),
               "provider": get_provider(connection.provider) if connection else None,
               "sandbox_url": current_app.config.get("SANDBOX_URL")}
    if connection is not None:
        latest = {}
        for run in db.session.scalars(org_select(SyncRun).where(SyncRun.kind != "create_contact")
                                      .order_by(SyncRun.id.desc()).limit(20)):
            latest.setdefault(run.kind, run)
        context.update(latest_runs=latest, **review_context(connection), **remote_choices(connection),
                       **log_context())
    return context


def review_context(connection) -> dict:
    """The open reviews of the connected organisation, with their candidates (one query each)."""
    reviews = db.session.scalars(org_select(ImportReview).where(
        ImportReview.status == "open", ImportReview.remote_org_id == connection.remote_org_id)
        .order_by(ImportReview.id)).all()
    ids = {int(i) for r in reviews for i in r.candidate_ids.split(",") if i}
    candidates = {p.id: p for p in db.session.scalars(org_select(Party).where(Party.id.in_(ids)))} if ids else {}
    return {"reviews": reviews, "candidates": candidates}


@bp.route("")
def index():
    template = "integrations/_panel.html" if htmx and htmx.target == "integration-panel" else "integrations/index.html"
    return render_template(template, **page_context())


@bp.route(f"/{PACKAGE_PATH}/connect", methods=["POST"])
def connect(provider_key):
    try:
        url = conn_service.start_connect(org_id(), current_user.id, provider_key, redirect_uri(provider_key))
    except ConnectError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect_to(url_for("integrations.index"))
    db.session.commit()
    return redirect_to(url)


@bp.route(f"/{PACKAGE_PATH}/callback")
def callback(provider_key):
    try:
        outcome = conn_service.finish_connect(
            org_id(), current_user.id, provider_key, request.args.to_dict(),
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


def _chooser(outcome, status: int = 200, switch=None, chosen_id: str | None = None):
    """The organisation chooser: the one this Factory organisation was last connected to
    is preselected; a different one is connected only once the switch is confirmed."""
    last = conn_service.last_remote_org(org_id(), outcome.pending.provider)
    choices = outcome.choices
    if chosen_id is None:
        known = {c.remote_id for c in choices}
        chosen_id = last.remote_org_id if last is not None and last.remote_org_id in known else None
        if chosen_id is None and len(choices) == 1:
            chosen_id = choices[0].remote_id
            switch = conn_service.switch_for(org_id(), outcome.pending.provider, choices[0])
    return render_template("integrations/choose.html", outcome=outcome, provider=get_provider(outcome.pending.provider),
                           chosen_id=chosen_id, switch=switch, last=last), status


def _own_pending_or_404(pending_id: int) -> PendingAuthorisation:
    """A sign-in in progress is its user's alone (another administrator's is a 404)."""
    pending = get_or_404(PendingAuthorisation, pending_id)
    if pending.user_id != current_user.id:
        abort(404)
    return pending


@bp.route("/choose/<int:pending_id>", methods=["GET", "POST"])
def choose(pending_id):
    _own_pending_or_404(pending_id)
    try:
        outcome = conn_service.pending_choice(org_id(), current_user.id, pending_id)
        if request.method == "GET":
            return _chooser(outcome)
        chosen_id = request.form.get("remote_org_id", "")
        done = conn_service.choose_organisation(org_id(), current_user.id, pending_id, chosen_id,
                                                confirm_switch=request.form.get("confirm_switch") == "yes")
    except conn_service.SwitchNeedsConfirming as exc:
        db.session.rollback()
        return _chooser(conn_service.pending_choice(org_id(), current_user.id, pending_id), 200, exc.switch,
                        exc.chosen.remote_id)
    except ConnectError as exc:
        db.session.rollback()
        if request.method == "POST" and "Choose one" in exc.message:
            flash(exc.message, "error")
            return _chooser(conn_service.pending_choice(org_id(), current_user.id, pending_id), 422)
        flash(exc.message, "error")
        return redirect_to(url_for("integrations.index"))
    db.session.commit()
    _after_connect(done.connection)
    flash(f"Connected to {done.connection.remote_org_name}.", "success")
    for problem in done.problems:
        flash(problem, "error")
    return redirect_to(url_for("integrations.index"))


@bp.route("/choose/<int:pending_id>/cancel", methods=["POST"])
def cancel_choice(pending_id):
    _own_pending_or_404(pending_id)
    try:
        problems = conn_service.cancel_choice(org_id(), current_user.id, pending_id)
    except ConnectError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash("Nothing was connected.", "info")
        for problem in problems:
            flash(problem, "error")
    return redirect_to(url_for("integrations.index"))


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


# --- imports, "Update accounting data", review list, sync log, mapping ------------------

def _run_or_404(run_id: int) -> SyncRun:
    return get_or_404(SyncRun, run_id)


@bp.route("/runs", methods=["POST"])
def start_run():
    kind = request.form.get("kind", "")
    if kind not in ("import_customers", "import_suppliers", "sync"):
        abort(400)
    try:
        run = run_service.start_run(org_id(), current_user.id, kind)
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
    """The progress component; it polls itself while the run is queued or running. The
    poll that finds it finished also brings the review list and the sync log up to date
    (out of band), so what the run found shows without a reload."""
    run = _run_or_404(run_id)
    context = {"run": run}
    connection = conn_service.current_connection(org_id())
    if not run.running and htmx and connection is not None:
        context.update(finished_now=True, provider=get_provider(connection.provider), **review_context(connection),
                       **log_context())
    return render_template("integrations/_run.html", **context)


@bp.route("/reviews/<int:review_id>", methods=["POST"])
def resolve_review(review_id):
    review = get_or_404(ImportReview, review_id)
    try:
        review_service.resolve_review(review, request.form.get("action", ""), parse_id(request.form.get("local_id")))
    except ProviderError as exc:
        db.session.rollback()
        return refusal(exc.message)
    db.session.commit()
    # the list again: what still waits (the head counts it, and drops the buttons for all
    # once nothing does), with this one shown as resolved
    connection = conn_service.current_connection(org_id())
    context = review_context(connection) if connection is not None else {"reviews": [], "candidates": {}}
    context["reviews"] = sorted([*context["reviews"], review], key=lambda r: r.id)
    return render_template("integrations/_reviews.html", provider=get_provider(review.provider), **context)


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
                review_service.resolve_review(review, action)
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
            run_service.request_remote_contact(party, current_user.id)
        else:
            run_service.start_run(org_id(), current_user.id, run.kind if run.kind != "create_contact" else "sync")
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
    try:
        mapping_service.save(connection, {f.name: request.form.get(f.name) for f in mapping_service.FIELDS})
    except ProviderError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect_to(url_for("integrations.index"))
    connection.mapping_proposed = None  # confirmed: what was proposed is now the mapping, or was changed
    db.session.commit()
    flash("Account and tax mapping saved.", "success")
    return redirect_to(url_for("integrations.index"))


def remote_choices(connection):
    return {"mapping_fields": mapping_service.FIELDS, "mapping_options": mapping_service.options(connection),
            "mapping_proposed": mapping_service.proposed(connection)}


@bp.app_context_processor
def accounting_context():
    """Every page knows whether a package is connected (for "Also create in …", the link
    controls), and every user sees in a banner what has not reached it: documents waiting
    while the connection needs an administrator, documents the package refused.

    Asked for when a template first uses one of these names, once per render: a fragment
    that shows none of them (a picker's matches, a list's rows) costs no query for them."""
    if g.get("database_down") or not current_user.is_authenticated:
        return {}
    state = cache(partial(_accounting_state, current_user.organisation_id))

    def value(name: str):
        return state().get(name)
    return {name: LocalProxy(partial(value, name)) for name in ("accounting", "package_name", "banner")}


def _accounting_state(organisation_id: int) -> dict:
    connection = conn_service.current_connection(organisation_id)
    if connection is None:
        return {"accounting": None}
    name = get_provider(connection.provider).display_name
    context = {"accounting": {"connection": connection, "name": name} if connection.status == "active" else None,
               "package_name": name}
    counts = g.get("attention") or package_states.attention(organisation_id)  # the dashboard's, if made
    needs_reconnect = connection.status == "needs_reconnect"
    unreachable = connection.status == "active" and connection.unreachable_since is not None
    if needs_reconnect or unreachable or counts["failed"]:
        context["banner"] = {"package": name, "connection": connection, "needs_reconnect": needs_reconnect,
                             "unreachable_since": connection.unreachable_since if unreachable else None,
                             "waiting": _documents(counts["waiting"]) if needs_reconnect or unreachable else None,
                             "waiting_count": sum(counts["waiting"].values()),
                             "failed": _documents(counts["failed"]), "failed_count": sum(counts["failed"].values()),
                             "failed_kinds": sorted(counts["failed"])}
    return context


def _documents(counts: dict[str, int]) -> str:
    """{"invoice": 3, "purchase": 1} -> "3 invoices and 1 purchase order"."""
    names = {"invoice": ("invoice", "invoices"), "purchase": ("purchase order", "purchase orders")}
    parts = [f"{n} {names[kind][n != 1]}" for kind, n in sorted(counts.items()) if n]
    return " and ".join(parts)


@bp.route("/sending", methods=["POST"])
def sending():
    connection = conn_service.current_connection(org_id())
    if connection is None:
        abort(404)
    try:
        mapping_service.set_sending(connection, request.form.get("send_invoices") == "y",
                                    request.form.get("send_purchases") == "y")
    except ProviderError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect_to(url_for("integrations.index"))
    connection.approve_documents = request.form.get("status") == "approved"
    if request.form.get("numbers") in ("factory", "package"):
        connection.document_numbers = request.form["numbers"]
    db.session.commit()
    flash("Sending settings saved.", "success")
    return redirect_to(url_for("integrations.index"))
