from rq import Queue, SimpleWorker

from factory_app.extensions import db
from factory_app.jobs import enqueue_after_commit, queue

from . import factories
from .jobs_for_tests import remember


def test_jobs_are_enqueued_only_after_commit(app, tenant, redis_conn):
    with app.app_context():
        q = queue()
        factories.customer(tenant.org_id, "Before")
        enqueue_after_commit(remember, "k1", "committed")
        db.session.flush()
        assert q.count == 0  # not before the commit
        db.session.commit()
        assert q.count == 1


def test_jobs_are_dropped_on_rollback(app, tenant, redis_conn):
    with app.app_context():
        q = queue()
        enqueue_after_commit(remember, "k2", "rolled back")
        db.session.rollback()
        db.session.commit()
        assert q.count == 0


def test_a_worker_runs_the_job_in_an_app_context(app, redis_conn):
    with app.app_context():
        enqueue_after_commit(remember, "k3", "ran")
        db.session.commit()
        worker = SimpleWorker([Queue("default", connection=redis_conn)], connection=redis_conn)
        assert worker.work(burst=True)
        assert redis_conn.get("k3") == b"ran"
