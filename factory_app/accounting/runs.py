"""Runs: a SyncRun row (counts, stage, progress) and one RQ job that takes its id, for an
import, an update or a contact to create.

The job builds its own app context, commits after every page it stores, and is safe to
run twice: a finished run is left alone, an interrupted one goes on from where it
stopped. Starting a run joins the one of the same kind already queued or running.
"""
from __future__ import annotations

from datetime import timedelta

from redis.exceptions import RedisError
from rq import Retry
from sqlalchemy import select

from ..extensions import db
from ..jobs import enqueue_after_commit, hold_until_commit, job_alive, job_context, redis_connection
from ..models import ACTIVE, AccountingConnection, Party, SyncRun
from ..models.types import utcnow
from . import connections as conn_service
from . import tasks
from .base import ProviderError, ReconnectNeeded, RetriableError, Unreachable
from .creation import create_contact
from .importer import import_contacts
from .update import run_update


RETRY_INTERVALS = [5, 15, 30, 60, 120, 300]


JOB_GRACE = timedelta(seconds=15)  # a new run's job is enqueued just after its commit


RUN_KINDS = ("import_customers", "import_suppliers", "sync", "create_contact")


def start_run(organisation_id: int, user_id: int | None, kind: str, subject_id: int | None = None) -> SyncRun:
    """Queue a run, or join the one of the same kind that is already queued or running."""
    if kind not in RUN_KINDS:
        raise ValueError(kind)
    connection = conn_service.current_connection(organisation_id)
    if connection is None:
        raise ReconnectNeeded("No accounting package is connected.")
    lock = redis_connection().lock(f"factory:start-run:{organisation_id}:{kind}:{subject_id}", timeout=30,
                                   blocking_timeout=30)
    try:
        acquired = lock.acquire()
    except (RedisError, OSError):
        # Redis is away: the run is recorded all the same (its job is queued by the outbox
        # sweep once Redis is back); without the lock two clicks at once may make two runs
        acquired = None
    if acquired is False:
        raise RetriableError("Another request is starting the same run. Try again in a moment.", reached=False)
    if acquired:
        hold_until_commit(lock)  # the check below and the caller's commit happen under one lock
    existing = db.session.scalar(select(SyncRun).where(
        # a run of an earlier connection (closed since) is not joined: it fails when it runs
        SyncRun.organisation_id == organisation_id, SyncRun.connection_id == connection.id, SyncRun.kind == kind,
        SyncRun.subject_id.is_(None) if subject_id is None else SyncRun.subject_id == subject_id,
        SyncRun.status.in_(("queued", "running"))).order_by(SyncRun.id.desc()))
    if existing is not None and (existing.created_at > utcnow() - JOB_GRACE or job_alive(job_id(existing))):
        return existing  # its job will run it (or is running it): join
    if existing is not None:  # its worker died or its job was lost: go on from where it stopped
        return resume_interrupted(existing, user_id)
    run = SyncRun(organisation_id=organisation_id, connection_id=connection.id, kind=kind,
                  subject_id=subject_id, requested_by_id=user_id, status="queued", stage="Waiting to start")
    db.session.add(run)
    db.session.flush()
    _enqueue_run(run)
    return run


def job_id(run: SyncRun) -> str:
    return f"sync-run-{run.id}"


def _enqueue_run(run: SyncRun) -> None:
    # committed by the caller before this is enqueued; the job id makes a double enqueue harmless
    enqueue_after_commit(tasks.RUN_SYNC, run.id, job_id=job_id(run),
                         unique=True, retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS))


def resume_interrupted(run: SyncRun, user_id: int | None = None) -> SyncRun:
    """A run whose job is gone (Redis lost it, its worker was killed): it is marked
    interrupted, and a new run of the same kind goes on from where it stopped (the page
    it was at, its counts so far; what was stored stays stored). Both say so in the log."""
    at = run.pages_done + 1
    resumed = SyncRun(organisation_id=run.organisation_id, connection_id=run.connection_id, kind=run.kind,
                      subject_id=run.subject_id, requested_by_id=user_id or run.requested_by_id, status="queued",
                      stage=f"Resuming at page {at}", next_page=run.next_page, pages_done=run.pages_done,
                      total_pages=run.total_pages, seen=run.seen, created=run.created, updated=run.updated,
                      linked=run.linked, review=run.review, skipped=run.skipped, failed=run.failed,
                      message=f"Resumed after an interruption at page {at}.")
    db.session.add(resumed)
    db.session.flush()
    run.status, run.finished_at, run.stage = "interrupted", utcnow(), "Interrupted"
    run.message = f"Interrupted at page {at} (its job stopped with its worker, or was lost); resumed by the next run."
    _enqueue_run(resumed)
    return resumed


def run_job(run_id: int) -> str:
    """The RQ job: runs (or resumes) one SyncRun."""
    with job_context():
        run = db.session.get(SyncRun, run_id)
        if run is None or run.status in ("done", "failed", "interrupted"):
            return "nothing to do"  # an interrupted run was resumed by another
        connection = db.session.get(AccountingConnection, run.connection_id) if run.connection_id else None
        if connection is None or connection.status != ACTIVE:
            return _finish(run, "failed", "The accounting package is not connected.")
        run.status, run.started_at = "running", run.started_at or utcnow()
        db.session.commit()
        try:
            if run.kind in ("import_customers", "import_suppliers"):
                import_contacts(run, connection, run.kind.removeprefix("import_")[:-1])
            elif run.kind == "sync":
                run_update(run, connection)
            elif run.kind == "create_contact":
                create_contact(run, connection)
        except RetriableError as exc:
            db.session.rollback()
            run = db.session.get(SyncRun, run_id)
            if isinstance(exc, Unreachable):
                conn_service.note_unreachable(db.session.get(AccountingConnection, run.connection_id))
            if not _retries_left():
                return _finish(run, "failed", f"Gave up after several tries: {exc.message}")
            run.stage = f"Waiting: {exc.message}"
            db.session.commit()
            raise  # RQ retries the job; it goes on from the last stored page
        except ProviderError as exc:
            db.session.rollback()
            return _finish(db.session.get(SyncRun, run_id), "failed", exc.message)
        except Exception:
            db.session.rollback()
            _finish(db.session.get(SyncRun, run_id), "failed", "An unexpected error stopped it; see the worker log.")
            raise  # recorded as a failed job too
        return _finish(run, "done", None)


def _retries_left() -> bool:
    from rq import get_current_job
    job = get_current_job()
    return bool(job is not None and job.retries_left)


def _finish(run: SyncRun, status: str, message: str | None) -> str:
    run.status, run.finished_at = status, utcnow()
    run.stage = "Finished" if status == "done" else "Stopped"
    if message:
        run.message = message
    if run.kind == "create_contact" and status == "failed" and run.subject_id:
        party = db.session.get(Party, run.subject_id)
        if party is not None:
            party.remote_state, party.remote_message = "failed", message
    db.session.commit()
    return status


def summary(run: SyncRun) -> str:
    parts = [f"{run.created} imported" if run.kind.startswith("import") else f"{run.updated} updated"]
    if run.kind.startswith("import"):
        parts += [f"{run.linked} linked to existing", f"{run.review} need review"]
        if run.updated:
            parts.append(f"{run.updated} updated")
    if run.failed:
        parts.append(f"{run.failed} failed")
    return ", ".join(parts)


def daily_sync() -> int:
    """Cron: one sync run per active connection (joined if one is already running)."""
    with job_context():
        count = 0
        for connection in db.session.scalars(select(AccountingConnection).where(AccountingConnection.status == ACTIVE)):
            start_run(connection.organisation_id, None, "sync")
            count += 1
        db.session.commit()
        return count


def request_remote_contact(party: Party, user_id: int | None) -> SyncRun:
    party.remote_state, party.remote_message = "pending", None
    return start_run(party.organisation_id, user_id, "create_contact", subject_id=party.id)
