"""The outbox: documents and runs that were committed are the record of the work, and
nothing depends on a job surviving. Every worker sweeps at start-up and every 10 s
(jobs.start_sweeper, one worker at a time), and `rq cron` runs the same sweep: a push
waiting with no live job gets a new one, a run whose job is gone is marked interrupted
and a new run resumes from where it stopped. No single process is the only way back.

A package that stops answering (Unreachable) is waited for per connection: one probe
job, a cheap call every few seconds (at most PROBE_EVERY apart), and once the package
answers, one push job per kind takes the backlog, as many documents per request as the
package takes.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from redis.exceptions import RedisError
from sqlalchemy import select

from ..extensions import db
from ..jobs import job_alive, job_context, queue
from ..models import ACTIVE, AccountingConnection, DocumentPush, SyncRun
from ..models.types import utcnow
from . import connections as conn_service
from . import provider as get_provider
from . import pushes
from . import runs as run_service
from . import tasks
from .base import ProviderError, RetriableError

log = logging.getLogger(__name__)
GRACE = timedelta(seconds=8)  # a job is enqueued just after its commit (within Redis' 5 s timeout): the sweep doesn't race it
PROBE_EVERY = (1, 2, 3, 5, 10)  # seconds between probes (a lone 5xx costs a second); then every 10


def sweep() -> dict[str, int]:
    """Give every push and run left without a live job one. Safe to run at any time, in
    any process, twice: each job finds out whether its work is still to do."""
    counts = {"pushes": 0, "runs": 0}
    settled = utcnow() - GRACE
    known: dict[str, bool] = {}

    def alive(job_id: str | None) -> bool:  # pushes waiting for one probe share its job
        if job_id not in known:
            known[job_id] = job_alive(job_id)
        return known[job_id]
    for push in db.session.scalars(select(DocumentPush).where(
            DocumentPush.state == "queued", DocumentPush.updated_at < settled).order_by(DocumentPush.id)):
        if not alive(push.job_id):
            pushes.requeue(push)
            counts["pushes"] += 1
    for run in db.session.scalars(select(SyncRun).where(
            SyncRun.status.in_(("queued", "running")), SyncRun.created_at < settled).order_by(SyncRun.id)):
        if not job_alive(run_service.job_id(run)):
            run_service.resume_interrupted(run)
            counts["runs"] += 1
    db.session.commit()
    if counts["pushes"] or counts["runs"]:
        log.warning("outbox sweep: %(pushes)s pushes and %(runs)s runs had no live job; queued again", counts)
    return counts


def sweep_job() -> dict[str, int]:
    """The sweep as an RQ job (rq cron runs it every minute, beside the workers' own)."""
    with job_context():
        return sweep()


# --- waiting for a package that does not answer --------------------------------------------

def probe_job_id(connection: AccountingConnection) -> str:
    return f"probe-{connection.id}"


def wait_for_package(connection: AccountingConnection, attempt: int = 0) -> tuple[str, datetime]:
    """Make sure a probe of this connection is on its way; returns its job id and when it runs."""
    job_id = probe_job_id(connection)
    delay = PROBE_EVERY[min(attempt, len(PROBE_EVERY) - 1)]
    when = utcnow() + timedelta(seconds=delay)
    if attempt == 0 and job_alive(job_id):
        return job_id, when  # already waiting for it
    try:
        queue().enqueue_in(timedelta(seconds=delay), tasks.PROBE, connection.id, attempt,
                           job_id=job_id)
    except (RedisError, OSError):
        pass  # the sweep finds the pushes without a live job and starts over
    return job_id, when


def probe(connection_id: int, attempt: int = 0) -> str:
    """A cheap call to the package. Still no answer: try again a little later. An answer:
    the connection is reachable again (conn_service.call clears it) and what waits goes."""
    with job_context():
        connection = db.session.get(AccountingConnection, connection_id)
        if connection is None or connection.status != ACTIVE:
            return "not connected"
        adapter = get_provider(connection.provider)
        try:
            conn_service.call(connection, adapter.probe)
        except RetriableError:
            wait_for_package(connection, attempt + 1)
            return "still down"
        except ProviderError:
            return "refused"  # a reconnect is needed: the pushes park when they are sent
        return "back" if resume(connection) else "back, nothing waiting"


def resume(connection: AccountingConnection) -> int:
    """One push job per kind of document waiting for this connection: it sends its own
    push and batches the others."""
    started = 0
    for doc_type in ("invoice", "purchase"):
        first = db.session.scalar(select(DocumentPush).where(
            DocumentPush.organisation_id == connection.organisation_id,
            DocumentPush.to(connection), DocumentPush.doc_type == doc_type,
            DocumentPush.state == "queued").order_by(DocumentPush.id))
        if first is not None:
            pushes.requeue(first)
            started += 1
    db.session.commit()
    return started
