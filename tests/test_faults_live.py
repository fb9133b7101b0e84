"""The fault suite, small (issue 16): a real worker process on a Redis of its own, the
Xero sandbox answering. Redis restarted empty while pushes wait on it (their retries and
the package's probe were held in Redis), then the worker SIGKILLed mid-call: afterwards
every invoice is in the package exactly once, with nobody doing anything but waiting.

The large version, with gunicorn, two workers, the cron, PostgreSQL stopped and people
over HTTP, is benchmarks/faults.py.
"""
from __future__ import annotations

import random
import time

import pytest
from cryptography.fernet import Fernet

from benchmarks.faults import RedisServer
from benchmarks.soak import Worker, create_invoices, keep_full_request_log, queue_faults, sandbox_requests, verify, worker_env
from factory_app.extensions import db
from factory_app.models import DocumentPush

from . import factories
from .conftest import HTMX, make_app
from .test_integrations import CALLBACK, MAPPING, connect, login, sandbox  # noqa: F401  (fixtures)
from .test_sync import work

HTTP_TIMEOUT = 1.0  # the worker's: a "timeout" fault holds its answer longer, so the answer is lost
RECOVERY = 30.0  # seconds, the target


@pytest.fixture()
def own_redis(tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture()
def live(app, database_url, sandbox, own_redis, tenant):  # noqa: F811
    """Factory on its own Redis: connected to Harbour, lists synced, mapped, sending on."""
    live_app = make_app(database_url, own_redis.url, XERO_CLIENT_ID="factory-test", XERO_CLIENT_SECRET="test-secret",
                        XERO_IDENTITY_URL=sandbox.face_url("xero"), XERO_API_URL=sandbox.face_url("xero"), XERO_REDIRECT_URI=CALLBACK,
                        FACTORY_TOKEN_KEY=Fernet.generate_key().decode(), ACCOUNTING_HTTP_TIMEOUT=3)
    admin = login(live_app, tenant.admin_email)
    connect(admin, ["Harbour"])
    with live_app.app_context():
        customer = factories.customer(tenant.org_id, "Coastal Kitchens Pty Ltd", email="accounts@coastalkitchens.example").id
    for kind in ("sync", "import_customers"):
        admin.post("/settings/integrations/runs", data={"kind": kind}, headers=HTMX)
    work(live_app)
    assert admin.post("/settings/integrations/mapping", data=MAPPING).status_code in (200, 302)
    admin.post("/settings/integrations/sending", data={"send_invoices": "y", "status": "approved"})
    yield live_app, customer
    with live_app.app_context():
        db.session.remove()
        db.engine.dispose()


def states(app, numbers) -> dict[str, str]:
    from sqlalchemy import select

    from factory_app.models import Invoice
    with app.app_context():
        rows = db.session.execute(select(Invoice.number, DocumentPush.state).join(
            DocumentPush, (DocumentPush.doc_type == "invoice") & (DocumentPush.doc_id == Invoice.id))
            .where(Invoice.number.in_(list(numbers)))).all()
        db.session.remove()
    return dict(rows)


def all_sent(app, expected, within: float, worker, what: str) -> float:
    """Seconds until every expected invoice's push is sent (fails after `within`)."""
    began = time.monotonic()
    while True:
        found = states(app, expected)
        if len(found) == len(expected) and set(found.values()) == {"sent"}:
            return time.monotonic() - began
        assert time.monotonic() - began < within, (what, found, worker.log_path.read_text()[-3000:])
        time.sleep(0.2)


def test_redis_restarted_empty_then_the_worker_killed_and_every_invoice_goes_once(
        live, tenant, sandbox, own_redis, database_url, tmp_path):  # noqa: F811
    live_app, customer = live
    keep_full_request_log(sandbox)
    env = worker_env(database_url=database_url, redis_url=own_redis.url, token_key=live_app.config["FACTORY_TOKEN_KEY"],
                     api_url=sandbox.url, instance_path=tmp_path / "worker-instance", client_id="factory-test",
                     client_secret="test-secret", http_timeout=HTTP_TIMEOUT)
    rng, expected = random.Random(16), {}
    worker = Worker(env, tmp_path / "worker-1.log")
    try:
        with live_app.app_context():
            expected.update(create_invoices(tenant.org_id, [customer], 2, rng))
        all_sent(live_app, expected, 60, worker, "the first invoices (the worker starting up)")

        # 1. the package refuses: the pushes wait for a probe scheduled in Redis, which then
        #    comes back empty (no job, no schedule, no lock survives)
        queue_faults(sandbox.url, ["503", "503"], http_timeout=HTTP_TIMEOUT)
        with live_app.app_context():
            batch = create_invoices(tenant.org_id, [customer], 4, rng)
        expected.update(batch)
        deadline = time.monotonic() + 20
        while sum(1 for r in sandbox_requests(sandbox) if r.get("fault") == "503") < 2:
            assert time.monotonic() < deadline, "the package's refusals were never reached"
            time.sleep(0.05)
        own_redis.restart_empty()
        recovered = all_sent(live_app, expected, RECOVERY + 15, worker, "after Redis restarted empty")
        assert recovered <= RECOVERY + 5, recovered

        # 2. the worker (its whole tree) SIGKILLed while its work-horse waits on Xero; a new
        #    one is started (as systemd would); the dead job's push is found and sent once
        queue_faults(sandbox.url, ["timeout"], http_timeout=HTTP_TIMEOUT)
        with live_app.app_context():
            expected.update(create_invoices(tenant.org_id, [customer], 3, rng))
        deadline = time.monotonic() + 30
        while not any(r.get("fault") == "timeout" for r in sandbox_requests(sandbox)):
            assert time.monotonic() < deadline, "the timeout fault was never reached"
            time.sleep(0.01)
        assert worker.horses(), "no work-horse was running the held call"
        worker.kill()
        worker = Worker(env, tmp_path / "worker-2.log")
        recovered = all_sent(live_app, expected, RECOVERY + 30, worker, "after the worker was killed")
        assert recovered <= RECOVERY + 10, recovered
    finally:
        worker.stop(10)

    with live_app.app_context():
        found = verify(sandbox.url, tenant.org_id, expected)
    assert len(expected) == 9 and found["pushes"] == 9
    assert found["in_package"] == 9 and found["lost"] == [], found
    assert found["duplicates"] == 0, found["duplicated_refs"]
    assert found["wrong_total"] == [] and found["not_sent"] == [] and found["remote_id_mismatch"] == []
    with live_app.app_context():  # sent, and nothing left to say about it
        said = db.session.execute(db.select(DocumentPush.doc_id, DocumentPush.message).where(
            DocumentPush.message.is_not(None))).all()
    assert said == [] and found["flagged"] == []
