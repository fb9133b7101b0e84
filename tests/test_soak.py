"""The push soak, small: 50 invoices through a real worker process while ~20% of the
calls to Invoices fail, the access token expires and the worker is SIGKILLed mid-call;
afterwards the package holds each invoice exactly once, with Factory's totals.

The large version is benchmarks/soak.py (it shares the worker and checking helpers).
"""
from __future__ import annotations

import random
import time
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta

from benchmarks.soak import (
    Worker,
    control,
    create_invoices,
    keep_full_request_log,
    push_states,
    queue_faults,
    sandbox_requests,
    verify,
    worker_env,
)
from factory_app.accounting import push as push_service
from factory_app.jobs import queue

from .test_integrations import admin, connect, sandbox, xero_app  # noqa: F401  (fixtures)
from .test_push import ready  # noqa: F401  (fixture)

HTTP_TIMEOUT = 1.0  # the worker's; a "timeout" fault holds its answer 2.5 s, so the answer is lost
BATCHES = [  # (invoices in the commit, faults queued on /Invoices before it)
    (15, ["503", "500", "429"]),
    (15, ["drop", "503", "429"]),
    (10, ["timeout"]),  # the worker is killed while it waits on this call
    (10, ["500", "drop", "503"]),
]


@contextmanager
def started_worker(env, path):
    worker = Worker(env, path)
    try:
        yield worker
    finally:
        worker.stop(10)


def cron_three_minutes_later(monkeypatch):
    """What `rq cron` does with resend_stuck once pushes have been queued for over 2 minutes."""
    real = push_service.utcnow
    with monkeypatch.context() as m:
        m.setattr(push_service, "utcnow", lambda: real() + timedelta(minutes=3))
        return push_service.resend_stuck()


def waiting_messages(app) -> list:
    """What the pushes not sent say, and the connection (for a failure's message)."""
    from sqlalchemy import select

    from factory_app.extensions import db
    from factory_app.models import AccountingConnection, DocumentPush
    with app.app_context():
        said = sorted({(p.state, p.message, p.job_id) for p in db.session.scalars(
            select(DocumentPush).where(DocumentPush.state != "sent"))}, key=str)[:5]
        connection = db.session.scalars(select(AccountingConnection)).first()
        db.session.remove()
        return [said, connection.status, connection.unreachable_since]


def idle(app, worker) -> bool:
    """Nothing queued and no job running (a killed job stays in RQ's started registry)."""
    with app.app_context():
        return queue().count == 0 and not worker.horses()


def test_fifty_invoices_exactly_once_through_faults_an_expired_token_and_a_killed_worker(
        xero_app, ready, tenant, sandbox, database_url, redis_url, tmp_path, monkeypatch):  # noqa: F811
    started = time.monotonic()
    sandbox.sandbox.limiter.limits.update(per_minute=100_000, concurrent=50)  # Xero's limits are not the subject
    keep_full_request_log(sandbox)
    env = worker_env(database_url=database_url, redis_url=redis_url, token_key=xero_app.config["FACTORY_TOKEN_KEY"],
                     api_url=sandbox.url, instance_path=tmp_path / "worker-instance", client_id="factory-test",
                     client_secret="test-secret", budget=6000, http_timeout=HTTP_TIMEOUT)
    org_id, customers = tenant.org_id, [ready["customer"]]
    rng = random.Random(50)
    expected, killed = {}, None
    worker = Worker(env, tmp_path / "worker-1.log")
    try:
        for number, (size, faults) in enumerate(BATCHES, 1):
            queue_faults(sandbox.url, faults, http_timeout=HTTP_TIMEOUT)
            with xero_app.app_context():
                expected.update(create_invoices(org_id, customers, size, rng))
            if number == 1:
                assert control(sandbox.url, "tokens/expire")["expired"] >= 1
            if number == 3:
                # kill the worker (its whole tree) while its work-horse waits on the held call;
                # the six faults before it each wait out a probe of the package (a second or so)
                deadline = time.monotonic() + 45
                while not any(r.get("fault") == "timeout" for r in sandbox_requests(sandbox)):
                    assert time.monotonic() < deadline, "the timeout fault was never reached"
                    time.sleep(0.01)
                horses = worker.horses()
                assert horses, "no work-horse was running the held call"
                worker.kill()
                killed = horses
                worker = Worker(env, tmp_path / "worker-2.log")
        # settle: the new worker drains the queue; the retries the dead worker's scheduler
        # held, and the job it died in, come back through resend_stuck, as the cron does
        deadline = time.monotonic() + 60
        last_sent, last_change, crons = -1, time.monotonic(), 0
        while True:
            states = push_states(xero_app)
            if states.get("sent", 0) == len(expected):
                break
            assert time.monotonic() < deadline, (dict(states), waiting_messages(xero_app), worker.log_path.read_text()[-1500:])
            if states.get("sent", 0) != last_sent:
                last_sent, last_change = states.get("sent", 0), time.monotonic()
            elif time.monotonic() - last_change > 1.5 and idle(xero_app, worker):
                with xero_app.app_context():
                    cron_three_minutes_later(monkeypatch)
                crons += 1
                last_change = time.monotonic()
            time.sleep(0.2)
        deadline = time.monotonic() + 10
        while not idle(xero_app, worker) and time.monotonic() < deadline:  # jobs that will find their push sent
            time.sleep(0.1)
    finally:
        worker.stop(10)

    log = sandbox_requests(sandbox)
    applied = Counter(r["fault"] for r in log if r.get("fault"))
    assert sum(applied.values()) == sum(len(f) for _, f in BATCHES) == 10  # ~20% of 50, every one hit
    assert control(sandbox.url, "state", method="get")["faults"] == []
    assert killed
    assert any(r["status"] == 401 for r in log) and any(r["path"] == "/connect/token" for r in log)
    with xero_app.app_context():
        found = verify(sandbox.url, org_id, expected)
    assert len(expected) == 50 and found["pushes"] == 50
    assert found["in_package"] == 50, found["lost"]
    assert found["duplicates"] == 0, found["duplicated_refs"]
    assert found["lost"] == [] and found["wrong_total"] == []
    assert found["not_sent"] == [] and found["flagged"] == [] and found["remote_id_mismatch"] == []
    print(f"soak: {time.monotonic() - started:.1f} s, faults {dict(applied)}, cron runs {crons}, "
          f"attempts {dict(found['attempts'])}")
