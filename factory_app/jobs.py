"""Background work with RQ.

Rules the rest of the app follows:
- A request or job commits first, then enqueues: `enqueue_after_commit()` holds the job
  until the surrounding transaction commits, and drops it on rollback, so a fast worker
  never looks for a row that is not there yet.
- Jobs take ids, not objects, and build their own app context (see `job_context`).
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable

from flask import Flask, current_app
from redis import Redis
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError
from sqlalchemy import event
from sqlalchemy.orm import Session

from .extensions import db

_PENDING_KEY = "factory_pending_jobs"


def init_app(app: Flask) -> None:
    app.extensions["factory_redis"] = None


def redis_connection(app: Flask | None = None) -> Redis:
    app = app or current_app
    conn = app.extensions.get("factory_redis")
    if conn is None:
        url = app.config.get("REDIS_URL")
        if not url:
            raise RuntimeError(
                "REDIS_URL is not set. `factory-app serve` starts an embedded Redis; "
                "in production point REDIS_URL at your Redis server.")
        conn = Redis.from_url(url)
        app.extensions["factory_redis"] = conn
    return conn


def queue(name: str = "default", app: Flask | None = None) -> Queue:
    return Queue(name, connection=redis_connection(app))


def enqueue_after_commit(func: Callable[..., Any] | str, *args, job_id: str | None = None,
                         queue_name: str = "default", retry: Retry | None = None, unique: bool = False,
                         **kwargs) -> None:
    """Enqueue `func(*args, **kwargs)` once the current transaction has committed."""
    session = db.session()
    if not session.in_transaction():
        session.begin()  # so that a rollback before any query still drops the job
    pending = session.info.setdefault(_PENDING_KEY, [])
    pending.append((queue_name, func, args, kwargs, job_id, retry, unique))


_LOCKS_KEY = "factory_locks_until_commit"


def hold_until_commit(lock) -> None:
    """Keep a Redis lock until the current transaction ends (commit or rollback), so a
    check-then-insert guarded by it covers the commit too."""
    session = db.session()
    if not session.in_transaction():
        session.begin()
    session.info.setdefault(_LOCKS_KEY, []).append(lock)


def _release_locks(session: Session) -> None:
    for lock in session.info.pop(_LOCKS_KEY, []):
        try:
            lock.release()
        except Exception:  # expired meanwhile: nothing to release
            pass


@event.listens_for(Session, "after_commit")
def _enqueue_pending(session: Session) -> None:
    _release_locks(session)
    pending = session.info.pop(_PENDING_KEY, None)
    if not pending:
        return
    for queue_name, func, args, kwargs, job_id, retry, unique in pending:
        try:
            queue(queue_name).enqueue(func, args=args, kwargs=kwargs, job_id=job_id, retry=retry, unique=unique)
        except DuplicateJobError:
            pass  # the same job is already queued: running it once is the point


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the outermost transaction was rolled back
        session.info.pop(_PENDING_KEY, None)
        _release_locks(session)


@contextlib.contextmanager
def job_context():
    """An app context for a job: reuses the worker's app, or builds one."""
    from flask import has_app_context
    if has_app_context():
        yield current_app
        return
    from . import create_app
    app = create_app()
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()


def run_worker() -> None:
    """One RQ worker with the scheduler, inside an app context that jobs reuse."""
    import os

    from rq import Worker

    from . import create_app

    app = create_app()
    with app.app_context():
        engine = db.engine
        # A forked work-horse must not share the parent's database connections.
        os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
        conn = redis_connection(app)
        queues = [Queue(name, connection=conn) for name in app.config["RQ_QUEUES"]]
        # maintenance every minute (RQ's default is 10): among other things it takes over the
        # scheduler lock a killed worker left behind, so scheduled retries don't stall for long
        Worker(queues, connection=conn, maintenance_interval=60).work(with_scheduler=True)


@contextlib.contextmanager
def kept_lock(name: str, ttl: float, wait: float):
    """A Redis lock held for as long as the block runs, however long that is: a thread
    extends it every ttl/3 seconds (and keeps trying through Redis hiccups). If the
    process dies (even SIGKILL) the lock frees itself within `ttl`. Yields the lock, or
    None when it could not be had within `wait` seconds; before doing anything that must
    not happen twice, check `lock.owned()`."""
    import threading

    lock = redis_connection().lock(name, timeout=ttl, blocking_timeout=wait, thread_local=False)
    if not lock.acquire():
        yield None
        return
    stop = threading.Event()

    def keep():
        while not stop.wait(ttl / 3):
            try:
                lock.extend(ttl, replace_ttl=True)
            except Exception:  # noqa: BLE001 - lost or unreachable: owned() will say so; keep trying
                continue

    keeper = threading.Thread(target=keep, name=f"keep {name}", daemon=True)
    keeper.start()
    try:
        yield lock
    finally:
        stop.set()
        keeper.join()
        try:
            lock.release()
        except Exception:  # noqa: BLE001 - expired meanwhile (LockError), or Redis is away: it expires by itself
            pass
