"""Sending invoices and purchase orders to the accounting package (the job, its batches,
its retries). The drafts are drafts.py's, the payment state payments.py's, the states
lists show package_states.py's.

Exactly once: every push carries an idempotency key made of the document id and its
version, and before creating, a document whose create response was lost is looked up by
its reference. Retriable failures are retried with backoff (Retry-After honoured);
rejections are shown, not retried; a connection that needs reconnecting parks the
document until it is reconnected.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from redis.exceptions import RedisError
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import flag_modified

from ..extensions import db
from ..jobs import job_alive, job_context, kept_lock, queue
from ..models import AccountingConnection, DocumentPush
from ..models.types import utcnow
from ..money import format_money
from . import connections as conn_service
from . import provider as get_provider
from . import outbox
from . import tasks
from .drafts import build_draft
from .payments import refresh_payment_job, store_payment_state  # the first: a path earlier releases queued (tasks.OLD_PATHS)
from .pushes import DOC_TYPES, JOB_RETRY, enqueue_push, its_connection, push_for
from .base import DocumentDraft, ReconnectNeeded, Rejected, RetriableError, Unreachable


BACKOFF = [2, 5, 15, 30, 60, 120, 300, 600]


def request_push(doc_type: str, doc, *, only_if_sent: bool = False, force: bool = False) -> DocumentPush | None:
    """Queue a push of this document's current version (after the caller commits).
    only_if_sent: for edits, push only documents that are already on their way.
    force: a person pressed Send / Retry, whatever the automatic setting says."""
    connection = conn_service.current_connection(doc.organisation_id)
    if connection is None:
        return None
    enabled = force or (connection.send_invoices if doc_type == "invoice" else connection.send_purchases)
    push = push_for(doc_type, doc, connection)
    if push is None:
        if only_if_sent or not enabled:
            return None
        push = DocumentPush(organisation_id=doc.organisation_id, provider=connection.provider,
                            remote_org_id=connection.remote_org_id, doc_type=doc_type, doc_id=doc.id, attempts=0)
        try:
            with db.session.begin_nested():
                db.session.add(push)
        except IntegrityError:  # an identical request (a double click on Send) made it a moment ago
            push = push_for(doc_type, doc, connection)
    if push.has_payments:
        return push  # the package holds a paid document: nothing more is sent
    if push.state == "sent" and push.pushed_version == doc.version:
        return push
    if push.state == "queued" and push.wanted_version == doc.version and not force:
        return push  # a double click: already on its way
    push.wanted_version = doc.version
    push.state, push.message = "queued", None
    flag_modified(push, "state")  # written even if it reads "queued": a sender may be committing "sent"
    db.session.flush()  # the job needs the row's id
    enqueue_push(push, doc.version)
    return push


def resume_waiting(organisation_id: int) -> int:
    """After a reconnect: everything parked or stuck goes out."""
    count = 0
    for push in db.session.scalars(select(DocumentPush).where(
            DocumentPush.organisation_id == organisation_id, DocumentPush.state.in_(("waiting", "queued")))):
        push.state, push.message = "queued", None
        enqueue_push(push, push.wanted_version)
        count += 1
    db.session.flush()
    return count


def resend_stuck() -> dict[str, int]:
    """Jobs queued before the outbox existed name this: it is the outbox sweep now."""
    return outbox.sweep_job()


def _to_send():
    """Pushes waiting to go: queued, or sent but edited since (a newer version wanted)."""
    return or_(DocumentPush.state == "queued",
               (DocumentPush.state == "sent") & (DocumentPush.wanted_version > DocumentPush.pushed_version))


SENDER_LOCK_TTL = 10.0   # seconds a dead sender's lock outlives it


SENDER_LOCK_WAIT = 30.0  # how long a job waits for the organisation's sender before retrying


def push_document(push_id: int, *also: int) -> str:
    """Send this push, and with it whatever else of the same kind is queued for the same
    organisation, as many per request as the package takes (a backlog goes out in a few
    calls). One sender per organisation and kind at a time, so no document is ever in two
    requests at once; the others wait for it, then usually find their push already sent.
    `also`: the rest of a batch being retried; the first of them still queued stands in
    for this push if it has gone out meanwhile."""
    with job_context():
        if also:
            queued = set(db.session.scalars(select(DocumentPush.id).where(
                DocumentPush.id.in_((push_id, *also)), _to_send())))
            push_id = next((i for i in (push_id, *also) if i in queued), push_id)
        push = db.session.get(DocumentPush, push_id)
        if push is None or db.session.get(DOC_TYPES[push.doc_type], push.doc_id) is None:
            return "gone"
        connection = its_connection(push)
        if connection is None:
            if push.state == "queued":
                push.state, push.message = "waiting", "Waiting for the accounting package to be reconnected."
                db.session.commit()
            return "waiting"
        if (connection.unreachable_since is not None and push.state == "queued"
                and job_alive(outbox.probe_job_id(connection))):
            # the package isn't answering: no call now (a new document's job would spend a
            # worker on a timeout); the connection's probe sends everything once it answers.
            # A probe that is overdue (its scheduler died) is not alive: this job calls
            _wait_for_package([push], connection)
            return "waiting for the package"
        name = f"factory:push-sender:{push.organisation_id}:{push.provider}:{push.remote_org_id}:{push.doc_type}"
        db.session.commit()  # end the read transaction: the wait below may be long
        with kept_lock(name, SENDER_LOCK_TTL, SENDER_LOCK_WAIT) as lock:
            if lock is not None:
                db.session.expire_all()  # see what the previous sender did
                push = db.session.get(DocumentPush, push_id)
                if db.session.scalar(select(DocumentPush.id).where(DocumentPush.id == push_id, _to_send())) is None:
                    # sent (or settled) by an earlier sender's batch
                    return "already sent" if push.state == "sent" else push.state
                return _send_batch(connection, push, lock)
        push = db.session.get(DocumentPush, push_id)
        _retry_later([push], RetriableError("Another send for this organisation is taking long.", retry_after=5,
                                            reached=False))
        return "retry"


def _send_batch(connection: AccountingConnection, own: DocumentPush, lock) -> str:
    adapter = get_provider(connection.provider)
    members = [own, *db.session.scalars(select(DocumentPush).where(
        DocumentPush.organisation_id == own.organisation_id, DocumentPush.to(connection),
        DocumentPush.doc_type == own.doc_type, _to_send(), DocumentPush.id != own.id)
        .order_by(DocumentPush.id).limit(adapter.documents_per_call - 1))]
    batch, own_wait = [], None
    for push in members:
        doc = db.session.get(DOC_TYPES[push.doc_type], push.doc_id)
        if doc is None:
            push.state, push.message = "failed", "The document no longer exists in Factory."
            continue
        try:
            # the version is taken with the draft: the document may be edited meanwhile
            batch.append((push, doc, build_draft(connection, push.doc_type, doc, new=push.remote_id is None),
                          doc.version))
        except Rejected as exc:
            push.state, push.message = "failed", exc.message
        except RetriableError as exc:  # e.g. its contact is still being created in the package
            if push is own:
                own_wait = exc  # the others not ready are left to their own jobs
    db.session.commit()  # documents that can't be sent are settled, whatever happens next
    if own_wait is not None:
        _retry_later([own], own_wait)
    if not batch:
        return "retry" if own_wait is not None else own.state
    return _send(connection, adapter, batch, lock)


def _send(connection, adapter, batch, lock) -> str:
    """One request for the batch of (push, document, draft, version); the outcome of each
    document recorded and committed. Returns what became of the first one.
    A push's `unconfirmed_since` is set before the request and cleared only by an answer
    about that document: whatever failed, a create that may have gone out is looked up
    by its reference before it is sent again."""
    pushes = [push for push, _, _, _ in batch]
    versions = {push.id: version for push, _, _, version in batch}
    # the request lists the documents in one order whichever job sends them: a request sent
    # again under the same Idempotency-Key is answered with the first one's answer, in the
    # first one's order
    batch = sorted(batch, key=lambda item: item[0].id)
    try:
        unsure = [(push, draft) for push, _, draft, _ in batch if push.remote_id is None and push.unconfirmed_since]
        if unsure:
            # an earlier request may have created these and lost its answer (a dropped
            # connection, a killed worker): find them (by what the package keeps unique of
            # a document) before creating; one another push already holds is not ours
            found = conn_service.call(connection, lambda s: adapter.find_documents(s, [d for _, d in unsure]))
            ids = [state.remote_id for state in found if state is not None]
            held = set(db.session.scalars(select(DocumentPush.remote_id).where(
                DocumentPush.organisation_id == connection.organisation_id,
                DocumentPush.to(connection), DocumentPush.remote_id.in_(ids)))) if ids else set()
            for (push, _), state in zip(unsure, found):
                if state is not None and state.remote_id not in held:
                    push.remote_id = state.remote_id
        now = utcnow()
        for push in pushes:
            push.attempts += 1  # a request carries it now
            if push.remote_id is None:
                push.unconfirmed_since = now
        if not lock.owned():  # the lock lapsed (Redis unreachable too long): another sender may run
            raise RetriableError("This send lost its turn; it goes again shortly.", retry_after=2, reached=False)
        db.session.commit()  # recorded before the request, so a worker killed during it is recovered
        results = conn_service.call(connection, lambda s: adapter.save_documents(
            s, [(draft, push.remote_id) for push, _, draft, _ in batch], _idempotency_key(batch)))
    except RetriableError as exc:
        _retry_later(pushes, exc, connection)
        return "retry"
    except ReconnectNeeded as exc:
        _settle(pushes, "waiting", exc.message)
        return "waiting"
    except Rejected as exc:
        if len(batch) > 1:
            # the whole request was refused (so nothing of it was saved): one document
            # spoils it; send them one by one
            _settle(pushes, "queued", None)
            outcomes = {item[0].id: _send(connection, adapter, [item], lock) for item in batch}
            return outcomes[pushes[0].id]
        _settle(pushes, "failed", _refusal(exc, batch[0][2], adapter))
        return "failed"
    db.session.expire_all()
    rows = {p.id: p for p in db.session.scalars(select(DocumentPush).where(
        DocumentPush.id.in_(versions)).with_for_update())}
    for (push, doc, draft, version), result in zip(batch, results):
        push = rows[push.id]
        push.unconfirmed_since = None
        if isinstance(result, Rejected):
            push.state, push.message = "failed", _refusal(result, draft, adapter)
            continue
        store_payment_state(push, result)
        push.pushed_version = version
        push.state, push.message = "sent", None
        if push.wanted_version > version:
            push.state = "queued"  # edited while it was on its way: the newer version follows
        elif doc.version == version and result.total != doc.total:
            push.message = (f"The package's total {format_money(result.total)} differs from Factory's "
                            f"{format_money(doc.total)}.")
    db.session.commit()
    _drop_waiting_jobs([rows[push.id] for push in pushes[1:]])
    return rows[pushes[0].id].state


def _refusal(exc: Rejected, draft: DocumentDraft, adapter) -> str:
    """What a person reads of a refusal: the package's words, or ours where we know more."""
    if exc.reason == Rejected.DUPLICATE_NUMBER:
        what = "invoice" if draft.kind == "sales_invoice" else "bill"
        return (f"{adapter.display_name} already has an {what} numbered {draft.number or '(this number)'} "
                f"(keyed in there by hand, perhaps), and keeps numbers unique. Move Factory's next number past it "
                f"(Settings), or let {adapter.display_name} number documents (Settings > Integrations > Sending "
                "documents), then press Retry.")
    return exc.message


def _idempotency_key(batch) -> str:
    """The same documents at the same versions, drafted alike, always make the same key.
    What is drafted is part of it: a document sent again after a setting changed (its
    numbering, say) is another request, which the package must not answer from the first."""
    def drafted(draft: DocumentDraft) -> str:
        return hashlib.sha256(repr(draft).encode()).hexdigest()[:10]
    if len(batch) == 1:
        push, doc, draft, version = batch[0]
        return f"factory-{push.doc_type}-{doc.id}-v{version}-{drafted(draft)}"
    parts = ",".join(sorted(f"{doc.id}-v{version}-{drafted(draft)}" for _, doc, draft, version in batch))
    return f"factory-{batch[0][0].doc_type}s-{hashlib.sha256(parts.encode()).hexdigest()[:48]}"


def _settle(pushes: list[DocumentPush], state: str, message: str | None) -> None:
    """After a failed request: whatever the job had changed is rolled back, the push rows
    record the outcome, committed."""
    ids = [push.id for push in pushes]
    db.session.rollback()
    for push in db.session.scalars(select(DocumentPush).where(DocumentPush.id.in_(ids))):
        if push.state != "sent":
            push.state, push.message = state, message
    db.session.commit()


def _drop_waiting_jobs(pushes: list[DocumentPush]) -> None:
    """The jobs still waiting to send pushes that this batch sent would only find them
    sent: take them off the queue (a backlog of 1,000 then costs 20 jobs, not 1,000).
    Harmless if one is missed or already running: it finds its push sent."""
    from rq.job import Job, JobStatus
    ids = [push.job_id for push in pushes if push.state == "sent" and push.job_id]
    if not ids:
        return
    conn = queue().connection
    with conn.pipeline() as pipe:
        for job in Job.fetch_many(ids, connection=conn):
            if job is not None and job.get_status(refresh=False) == JobStatus.QUEUED:
                job.delete(pipeline=pipe)
        pipe.execute()


def _wait_for_package(rows: list[DocumentPush], connection: AccountingConnection) -> None:
    """These pushes wait for the connection's probe, which sends them once the package
    answers again; committed."""
    job_id, when = outbox.wait_for_package(connection)
    since = (connection.unreachable_since or utcnow()).strftime("%H:%M UTC")
    package = get_provider(connection.provider).display_name
    for push in rows:
        push.job_id, push.next_attempt_at = job_id, when
        push.message = f"{package} has not answered since {since}; it goes out as soon as {package} answers again."
    db.session.commit()


def _retry_later(pushes: list[DocumentPush], exc: RetriableError, connection: AccountingConnection | None = None) -> None:
    """Back to the queue after a request that may be worth making again. The package not
    answering (an outage) is the connection's matter, not each push's: they wait for the
    connection's probe, which sends everything once the package answers. Otherwise one
    retry job for the batch after the package's Retry-After or the backoff of its most
    tried push; each push says truly when it goes next."""
    ids = [push.id for push in pushes]
    db.session.rollback()
    rows = [p for p in db.session.scalars(select(DocumentPush).where(DocumentPush.id.in_(ids)).order_by(DocumentPush.id))
            if p.state == "queued"]
    if not rows:
        db.session.commit()
        return
    if isinstance(exc, Unreachable) and connection is not None:
        db.session.refresh(connection)
        conn_service.note_unreachable(connection)
        _wait_for_package(rows, connection)
        return
    delay = exc.retry_after if exc.retry_after is not None else BACKOFF[min(max(p.attempts for p in rows),
                                                                            len(BACKOFF) - 1)]
    first, rest = rows[0], [p.id for p in rows[1:]]
    job_id = f"push-{first.id}-retry-{secrets.token_hex(4)}"
    when = utcnow() + timedelta(seconds=delay)
    for push in rows:
        push.job_id, push.next_attempt_at = job_id, when
        push.message = f"Will try again at {when.strftime('%H:%M:%S UTC')}: {exc.message}"
    db.session.commit()
    try:
        queue().enqueue_in(timedelta(seconds=delay), tasks.PUSH_DOCUMENTS, first.id, *rest,
                           job_id=job_id, retry=JOB_RETRY)
    except (RedisError, OSError):
        pass  # the outbox sweep finds them without a live job


__all__ = ["build_draft", "push_document", "push_for", "refresh_payment_job", "request_push",
           "resume_waiting"]
