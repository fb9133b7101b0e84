"""Background work with RQ.

Rules the rest of the app follows:
- A request or job commits first, then enqueues: `enqueue_after_commit()` holds the job
  until the surrounding transaction commits, and drops it on rollback, so a fast worker
  never looks for a row that is not there yet.
- Jobs take ids, not objects, and build their own app context (see `job_context`).
- What was committed is the record of the work, not the job: if Redis can't take the job
  (down, frozen), the request still succeeds (`queue_unavailable()` says so, for a note to
  the user), and the outbox sweep (accounting/outbox.py), which every worker runs at
  start-up and every 10 seconds (at once when Redis has lost its data), gives every push and run left without a live job a new one.
"""
from __future__ import annotations

import contextlib
import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from flask import Flask, current_app, g, has_request_context
from redis import Redis
from redis.exceptions import LockError, RedisError
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError
from sqlalchemy import event
from sqlalchemy.orm import Session

from .extensions import db

_PENDING_KEY = "factory_pending_jobs"
log = logging.getLogger(__name__)
REDIS_TIMEOUT = 5.0  # seconds: a frozen Redis fails a call instead of hanging the request
JOB_HEARTBEAT = 5  # seconds between a running job's heartbeats (the worker's monitoring interval)
STALE_HEARTBEAT = timedelta(seconds=15)  # a started job silent this long (3 missed heartbeats) lost its worker
OVERDUE_SCHEDULE = timedelta(seconds=10)  # a scheduled job this late has lost its scheduler
SWEEP_EVERY = 10.0  # seconds between a worker's outbox sweeps (one Redis call per distinct job waited on)
WATCH_EVERY = 3.0  # seconds between looks at REDIS_MARK
REDIS_MARK = "factory:redis-mark"  # set by the workers; missing = Redis lost its data


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
        conn = Redis.from_url(url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT,
                              health_check_interval=30)
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
        except (RedisError, OSError) as exc:
            # committed already: the rows are the record of the work, and the outbox sweep
            # gives them a job once Redis is back; the request goes on
            log.warning("job %s not queued (Redis: %s); the outbox sweep will queue it", job_id or func, exc)
            if has_request_context():
                g.queue_unavailable = True


def queue_unavailable() -> bool:
    """Did this request commit work whose job Redis could not take?"""
    return has_request_context() and bool(g.get("queue_unavailable"))


def job_alive(job_id: str | None) -> bool:
    """Will this job still run? Queued, scheduled or deferred; or started with a recent
    heartbeat (a SIGKILLed worker's job stays "started" until RQ's own cleanup, long after)."""
    from rq.job import Job, JobStatus
    from rq.exceptions import NoSuchJobError
    if not job_id:
        return False
    try:
        job = Job.fetch(job_id, connection=redis_connection())
        status = job.get_status(refresh=False)
    except NoSuchJobError:
        return False
    except (RedisError, OSError):
        return True  # can't tell: nothing is taken for lost on a guess (the sweep looks again later)
    if status in (JobStatus.QUEUED, JobStatus.DEFERRED):
        return True
    if status == JobStatus.SCHEDULED:
        # due, and not yet taken to the queue for a while: the scheduler that holds the
        # lock was killed (the lock lapses a minute or more later): not to be waited for
        from rq.registry import ScheduledJobRegistry
        try:
            due = ScheduledJobRegistry(job.origin, connection=job.connection).get_scheduled_time(job)
        except (NoSuchJobError, RedisError, OSError):
            return True
        return datetime.now(timezone.utc) - _utc(due) < OVERDUE_SCHEDULE
    if status == JobStatus.STARTED:
        beat = job.last_heartbeat or job.started_at
        return beat is not None and datetime.now(timezone.utc) - _utc(beat) < STALE_HEARTBEAT
    return False


def _utc(moment: datetime) -> datetime:
    """RQ hands back naive UTC datetimes in some places, aware ones in others."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


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
        start_sweeper_process()
        # maintenance every minute (RQ's default is 10): among other things it takes over the
        # scheduler lock a killed worker left behind, so scheduled retries don't stall for long.
        # A running job's heartbeat every few seconds, so a job whose worker died is known as
        # such (job_alive) within STALE_HEARTBEAT.
        backoff = 1.0
        while True:
            worker, began = None, time.monotonic()
            try:
                # (making the Worker already talks to Redis: a worker started while Redis is
                # away waits for it here instead of exiting)
                worker = Worker(queues, connection=conn, maintenance_interval=60, job_monitoring_interval=JOB_HEARTBEAT)
                worker.work(with_scheduler=True)
            except (RedisError, OSError) as exc:
                log.warning("the worker stopped on a Redis error (%s)", exc)
            if worker is not None and (getattr(worker, "_stop_requested", False)
                                       or getattr(worker, "_shutdown_requested_date", None)):
                return  # asked to stop (SIGTERM, SIGINT: a warm shutdown)
            # RQ waits out Redis while it looks for work, but a Redis error while it watches
            # a running job ends work() ("found an unhandled exception, quitting"): start
            # again rather than leave it to a supervisor (the job is the sweep's if lost)
            if time.monotonic() - began > 60:
                backoff = 1.0  # it had been working: this is a new outage
            log.warning("the worker stopped without being asked to; starting again in %.0f s", backoff)
            time.sleep(backoff)
            backoff = min(backoff * 2, 30.0)


def start_sweeper(app: Flask):
    """The outbox sweep on a thread of this process (tests, and processes that never
    fork); returns the Event that stops it. A worker runs it in a process of its own
    (start_sweeper_process): RQ forks a work-horse per job, and a fork taken while this
    thread holds a lock (Redis' or the database pool's) hands the child a lock nobody
    will release, and the job hangs."""
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=sweep_loop, args=(app, stop), name="outbox-sweep", daemon=True)
    thread.start()
    return stop


def start_sweeper_process():
    """The outbox sweep in a process of its own beside the worker (spawned, so it shares
    nothing with it); it stops with the worker, even a SIGKILLed one."""
    import multiprocessing
    import os

    process = multiprocessing.get_context("spawn").Process(
        target=_sweeper_main, args=(os.getpid(),), name="factory-outbox-sweep", daemon=True)
    process.start()
    return process


def _sweeper_main(parent_pid: int) -> None:
    import os
    import signal
    import threading

    from . import create_app
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is the worker's to handle; it stops us
    stop = threading.Event()
    app = create_app()

    def orphaned():  # the worker is gone (killed): so are we
        while not stop.wait(1.0):
            if os.getppid() != parent_pid:
                stop.set()
    threading.Thread(target=orphaned, daemon=True).start()
    sweep_loop(app, stop)


def sweep_loop(app: Flask, stop) -> None:
    """The outbox sweep now and every SWEEP_EVERY seconds (one worker at a time does it,
    under a Redis lock), whatever Redis or the database are doing meanwhile: an error is
    logged and the next round tries again, until `stop` is set.

    Every WATCH_EVERY seconds it also looks for its mark in Redis: a Redis that lost its
    data (restarted empty, flushed, failed over) has lost the queued jobs too, so the
    worker that finds the mark missing sweeps at once, and again once the commits made
    just before are past the sweep's grace."""
    from .accounting.outbox import GRACE, sweep

    def sweep_now() -> None:
        lock = redis_connection(app).lock("factory:outbox-sweep", timeout=60, blocking_timeout=0)
        if lock.acquire():
            try:
                with app.app_context():
                    try:
                        sweep()
                    finally:
                        db.session.remove()
            finally:
                with contextlib.suppress(RedisError, LockError):
                    lock.release()

    due, again, started = time.monotonic(), None, True  # the first sweep: at start-up
    while not stop.is_set():
        try:
            if redis_connection(app).set(REDIS_MARK, "1", nx=True):  # the mark was missing
                if not started:
                    log.warning("Redis has lost its data (restarted empty?): sweeping the outbox now")
                due, again = time.monotonic(), time.monotonic() + GRACE.total_seconds() + 1
            started = False
            now = time.monotonic()
            if now >= due or (again is not None and now >= again):
                if now >= due:
                    due = now + SWEEP_EVERY
                else:
                    again = None
                sweep_now()
        except Exception as exc:  # noqa: BLE001 - Redis or the database away: next round
            log.warning("outbox sweep failed (%s); trying again shortly", exc)
            due = min(due, time.monotonic() + WATCH_EVERY * 2)
        stop.wait(WATCH_EVERY)


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
