"""Issue 16: faults survived without a person. The job of a piece of work may be lost
(Redis restarted empty, a worker killed between commit and enqueue, Redis down at the
commit): the outbox sweep gives it a new one. A run whose job is gone is interrupted and
resumed, never joined. A package outage is waited out per connection by a probe, and
what waited goes out once it answers. The database away is a 503 page, not a 500."""
from __future__ import annotations

import sys
import time
from datetime import timedelta

import requests
from sqlalchemy import select

from factory_app.accounting import connections as conn_service
from factory_app.accounting import outbox
from factory_app.accounting import runs
from factory_app.extensions import db
from factory_app.jobs import job_alive, redis_connection
from factory_app.models import DocumentPush, Invoice, SyncRun
from factory_app.models.types import utcnow

from . import factories
from .conftest import HTMX, PASSWORD, make_app
from .test_integrations import MAPPING, admin, connect, sandbox, xero_app  # noqa: F401  (fixtures)
from .test_push import invoice_order, ready, remote_invoices, the_push  # noqa: F401
from .test_sync import work


def age(app, model, seconds=60):
    """As if the rows were made a while ago (past the sweep's grace for a fresh commit)."""
    with app.app_context():
        table = model.__table__
        column = table.c.updated_at if "updated_at" in table.c else table.c.created_at
        db.session.execute(table.update().values({column: utcnow() - timedelta(seconds=seconds)}))
        db.session.commit()


def test_a_push_whose_job_redis_lost_is_sent_after_the_sweep(xero_app, ready, tenant):  # noqa: F811
    order_id = invoice_order(xero_app, tenant, ready["customer"], [(None, "1", "10", "0", "10")])
    ready["client"].post(f"/orders/{order_id}/invoice")
    with xero_app.app_context():
        push = db.session.scalar(select(DocumentPush))
        assert push.job_id and job_alive(push.job_id)
        redis_connection().flushdb()  # Redis restarted empty
        assert not job_alive(push.job_id)
        assert outbox.sweep() == {"pushes": 0, "runs": 0}  # a fresh commit is left to its own job
    age(xero_app, DocumentPush)
    with xero_app.app_context():
        assert outbox.sweep()["pushes"] == 1
        assert outbox.sweep()["pushes"] == 0  # it has a live job now
    work(xero_app)
    push = the_push(xero_app)
    assert push.state == "sent" and push.attempts == 1  # one request carried it


def test_a_saved_invoice_is_answered_as_saved_when_redis_is_down(app, tenant, redis_url):
    with app.app_context():
        customer = factories.customer(tenant.org_id)
        order = factories.order(tenant.org_id, customer.id, lines=[(None, "1", "10", "0", "10")], status="confirmed")
        from factory_app.models import AccountingConnection
        db.session.add(AccountingConnection(organisation_id=tenant.org_id, provider="xero", remote_org_id="t1",
                                            remote_org_name="Harbour", status="active", send_invoices=True,
                                            **{k: v for k, v in MAPPING.items()}))
        db.session.commit()
        order_id = order.id
    down = make_app(app.config["SQLALCHEMY_DATABASE_URI"], "redis://127.0.0.1:1/0")  # nothing listens there
    client = down.test_client()
    assert client.post("/login", data={"email": tenant.admin_email, "password": PASSWORD}).status_code == 302
    response = client.post(f"/orders/{order_id}/invoice")
    assert response.status_code == 302 and "/orders/invoices/" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "was created" in page and "job queue is away for a moment" in page
    with app.app_context():
        push = db.session.scalar(select(DocumentPush))
        assert db.session.scalar(select(Invoice.number)) == "INV-0001"
        assert push.state == "queued" and push.job_id  # the record of the work, for the sweep
    # the order page, the Integrations page and "Update accounting data" answer too
    assert client.get(f"/orders/{order_id}").status_code == 200
    started = client.post("/settings/integrations/runs", data={"kind": "sync"}, headers=HTMX)
    assert started.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(SyncRun.status)) == "queued"


def test_a_run_whose_job_is_gone_is_interrupted_and_resumed_not_joined(xero_app, admin, tenant):  # noqa: F811
    connect(admin, ["Harbour"])
    with xero_app.app_context():
        redis_connection().flushdb()  # the update Connect queued: its job is lost
        run = db.session.scalar(select(SyncRun))
        run.status, run.next_page, run.pages_done, run.seen = "running", "2", 1, 1000
        db.session.commit()
        first_id = run.id
    assert admin.post("/settings/integrations/runs", data={"kind": "sync"}, headers=HTMX).status_code == 200
    with xero_app.app_context():
        assert db.session.scalar(select(SyncRun).where(SyncRun.id > first_id)) is None  # just started: joined
    age(xero_app, SyncRun)
    page = admin.post("/settings/integrations/runs", data={"kind": "sync"}, headers=HTMX).get_data(as_text=True)
    assert "Resuming at page 2" in page
    with xero_app.app_context():
        old, new = db.session.scalars(select(SyncRun).order_by(SyncRun.id)).all()
        assert old.status == "interrupted" and "Interrupted at page 2" in old.message
        assert (new.status, new.next_page, new.seen) == ("queued", "2", 1000)
        assert "Resumed after an interruption at page 2" in new.message
        assert job_alive(runs.job_id(new))
        assert runs.run_job(old.id) == "nothing to do"  # an old retry of it does nothing
    log = admin.get("/settings/integrations/log").get_data(as_text=True)
    assert "Interrupted at page 2" in log and "Resumed after an interruption" in log


def test_the_sweep_also_resumes_runs_left_without_a_job(xero_app, admin, tenant):  # noqa: F811
    connect(admin, ["Harbour"])
    with xero_app.app_context():
        redis_connection().flushdb()
    age(xero_app, SyncRun)
    with xero_app.app_context():
        assert outbox.sweep()["runs"] == 1
    work(xero_app)
    with xero_app.app_context():
        statuses = [r.status for r in db.session.scalars(select(SyncRun).order_by(SyncRun.id))]
    assert statuses == ["interrupted", "done"]


def test_an_outage_is_waited_out_by_a_probe_and_each_push_counts_its_own_attempts(xero_app, ready, tenant,
                                                                                   sandbox):  # noqa: F811
    control = lambda **body: requests.post(f"{sandbox.url}/__sandbox/faults", json=body, timeout=5)  # noqa: E731
    control(kind="503", count=1000, path="/api.xro/2.0/")
    for _ in range(3):
        order_id = invoice_order(xero_app, tenant, ready["customer"], [(None, "1", "10", "0", "10")])
        ready["client"].post(f"/orders/{order_id}/invoice")
    work(xero_app)  # the first job sends all three in one request, which Xero doesn't answer
    with xero_app.app_context():
        pushes = db.session.scalars(select(DocumentPush).order_by(DocumentPush.id)).all()
        connection = conn_service.current_connection(tenant.org_id)
        assert connection.unreachable_since is not None
        probe = outbox.probe_job_id(connection)
        assert {p.state for p in pushes} == {"queued"} and {p.attempts for p in pushes} == {1}
        assert {p.job_id for p in pushes} == {probe} and job_alive(probe)
        assert len({p.message for p in pushes}) == 1 and "has not answered since" in pushes[0].message
        connection_id = connection.id
    banner = ready["client"].get("/orders").get_data(as_text=True)
    assert "Xero has not answered since" in banner and "3 invoices are waiting" in banner
    with xero_app.app_context():  # what the scheduled probe does meanwhile
        assert outbox.probe(connection_id, 0) == "still down"
    requests.delete(f"{sandbox.url}/__sandbox/faults", timeout=5)  # Xero is back
    with xero_app.app_context():
        assert outbox.probe(connection_id, 1) == "back"
    work(xero_app)
    with xero_app.app_context():
        pushes = db.session.scalars(select(DocumentPush).order_by(DocumentPush.id)).all()
        assert {p.state for p in pushes} == {"sent"} and {p.attempts for p in pushes} == {2}
        assert conn_service.current_connection(tenant.org_id).unreachable_since is None
    assert "has not answered" not in ready["client"].get("/orders").get_data(as_text=True)


def test_the_database_away_is_a_503_page_that_says_nothing_is_lost(app, tenant, client):
    dead = make_app("postgresql://factory@127.0.0.1:1/factory", app.config["REDIS_URL"])  # nothing listens there
    cookie = client.get_cookie("session")
    browser = dead.test_client()
    browser.set_cookie("session", cookie.value)
    for path in ("/orders", "/customers", "/settings/integrations"):
        response = browser.get(path)
        assert response.status_code == 503, path
        body = response.get_data(as_text=True)
        assert "reach its database" in body and "Nothing you saved is lost" in body
        assert response.headers["Retry-After"] == "30"
    partial = browser.get("/orders", headers=HTMX)
    assert partial.status_code == 503 and partial.get_data() == b"" and "database" in partial.headers["HX-Trigger"]
    login = dead.test_client().post("/login", data={"email": tenant.admin_email, "password": PASSWORD})
    assert login.status_code == 503


def test_supervised_processes_are_started_again_when_they_die(monkeypatch, tmp_path):
    from factory_app import cli
    monkeypatch.setattr(cli, "RESTART_BACKOFF", (0.2,))
    marker = tmp_path / "starts"
    supervisor = cli.Supervisor()
    supervisor.start("flaky", [sys.executable, "-c", f"open({str(marker)!r}, 'a').write('x'); raise SystemExit(3)"], {})
    deadline = time.monotonic() + 20
    while marker.exists() is False or len(marker.read_text()) < 3:
        supervisor.tend()
        time.sleep(0.05)
        assert time.monotonic() < deadline, "not started again"
    supervisor.stop()


def test_a_worker_sweeps_at_start_up(xero_app, ready, tenant, monkeypatch):  # noqa: F811
    from factory_app import jobs
    order_id = invoice_order(xero_app, tenant, ready["customer"], [(None, "1", "10", "0", "10")])
    ready["client"].post(f"/orders/{order_id}/invoice")
    with xero_app.app_context():
        redis_connection().flushdb()
    age(xero_app, DocumentPush)
    stop = jobs.start_sweeper(xero_app)
    try:
        deadline = time.monotonic() + 20
        while True:
            with xero_app.app_context():
                job = db.session.scalar(select(DocumentPush.job_id))
                if job_alive(job):
                    break
                db.session.remove()
            assert time.monotonic() < deadline, "the sweeper did not queue it"
            time.sleep(0.2)
    finally:
        stop.set()
    work(xero_app)
    assert the_push(xero_app).state == "sent"


def test_a_scheduled_job_long_overdue_is_not_taken_for_alive(app):
    """A retry or probe scheduled by a worker that was killed waits until that worker's
    scheduler lock lapses (a minute or more): the sweep doesn't wait for it."""
    from datetime import datetime, timezone

    from factory_app.jobs import queue
    with app.app_context():
        now = datetime.now(timezone.utc)
        soon = queue().enqueue_at(now + timedelta(seconds=60), "tests.jobs_for_tests.touch", "/tmp/x", job_id="soon")
        late = queue().enqueue_at(now - timedelta(seconds=30), "tests.jobs_for_tests.touch", "/tmp/x", job_id="late")
        assert soon.get_status() == late.get_status() == "scheduled"  # no scheduler runs here
        assert job_alive("soon") and not job_alive("late")
