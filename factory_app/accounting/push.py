"""Sending invoices and purchase orders to the accounting package, and reading back an
invoice's payment state.

Exactly once: every push carries an idempotency key made of the document id and its
version, and before creating, a document whose create response was lost is looked up by
its reference. Retriable failures are retried with backoff (Retry-After honoured);
rejections are shown, not retried; a connection that needs reconnecting parks the
document until it is reconnected.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from datetime import timedelta
from decimal import Decimal

from flask import current_app, g, has_request_context
from redis.exceptions import RedisError
from rq import Retry
from sqlalchemy import event, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from .. import counts
from ..extensions import db
from ..jobs import enqueue_after_commit, job_alive, job_context, kept_lock, queue
from ..models import (
    ACTIVE, AccountingConnection, DocumentPush, ExternalLink, Invoice, PurchaseOrder, RemoteRecord,
)
from ..models.types import utcnow
from ..money import format_money
from . import connections as conn_service
from . import links as link_service
from . import mapping as mapping_service
from . import provider as get_provider
from . import outbox
from .settings import override
from . import tasks
from .payments import store_payment_state
from .base import (
    DocumentDraft, DocumentLine, ProviderError, ReconnectNeeded, Rejected, RetriableError, Unreachable, WebhookEvent,
)

DOC_TYPES = {"invoice": Invoice, "purchase": PurchaseOrder}
BACKOFF = [2, 5, 15, 30, 60, 120, 300, 600]
PAYMENT_CHECK_AGE = timedelta(minutes=1)


# --- asking for a push ------------------------------------------------------------------

def push_for(doc_type: str, doc, to: AccountingConnection | None = None) -> DocumentPush | None:
    """The document's push (to this connection's remote organisation, or its latest). Asked for once a
    request: the order edit page's payment gate, its lock and its panel all want it. A
    push found is kept for the request (pushes are never deleted), none found is asked
    again (one may be made meanwhile); a new push (it may be the latest now) and a
    rollback forget them all."""
    memo = g.setdefault("_pushes", {}) if has_request_context() else {}
    key = (doc_type, doc.id, (to.provider, to.remote_org_id) if to is not None else None)
    if key in memo:
        return memo[key]
    query = select(DocumentPush).where(DocumentPush.organisation_id == doc.organisation_id,
                                       DocumentPush.doc_type == doc_type, DocumentPush.doc_id == doc.id)
    if to is not None:
        query = query.where(DocumentPush.to(to))
    push = db.session.scalar(query.order_by(DocumentPush.id.desc()))
    if push is not None:
        memo[key] = push
    return push


def _forget_pushes(*_) -> None:
    if has_request_context():
        g.pop("_pushes", None)


event.listen(Session, "after_soft_rollback", _forget_pushes)
event.listen(DocumentPush, "after_insert", _forget_pushes)


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
    _enqueue(push, doc.version)
    return push


JOB_RETRY = Retry(max=3, interval=[10, 30, 60])  # a database or Redis error in the job itself


def _enqueue(push: DocumentPush, version: int) -> None:
    """One job per request to send, named on the push (the outbox sweep gives a push
    whose job is gone a new one); the same request enqueued twice runs once (and a job
    run twice finds its push sent)."""
    push.job_id = f"push-{push.id}-v{version}-{secrets.token_hex(4)}"
    push.next_attempt_at = None
    enqueue_after_commit(tasks.PUSH_DOCUMENTS, push.id, job_id=push.job_id, unique=True,
                         retry=JOB_RETRY)


def requeue(push: DocumentPush) -> None:
    """The outbox sweep: this push waits with no live job (Redis lost it, its worker was
    killed between commit and enqueue): a new one. No attempt is counted: none was made."""
    _enqueue(push, push.wanted_version)


def resume_waiting(organisation_id: int) -> int:
    """After a reconnect: everything parked or stuck goes out."""
    count = 0
    for push in db.session.scalars(select(DocumentPush).where(
            DocumentPush.organisation_id == organisation_id, DocumentPush.state.in_(("waiting", "queued")))):
        push.state, push.message = "queued", None
        _enqueue(push, push.wanted_version)
        count += 1
    db.session.flush()
    return count


def resend_stuck() -> dict[str, int]:
    """Jobs queued before the outbox existed name this: it is the outbox sweep now."""
    return outbox.sweep_job()


# --- the job ----------------------------------------------------------------------------

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
        connection = conn_service.current_connection(push.organisation_id)
        if connection is None or connection.status != ACTIVE or not push.goes_to(connection):
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


def build_draft(connection: AccountingConnection, doc_type: str, doc, new: bool = True) -> DocumentDraft:
    """The document as the package should hold it: linked contact, linked items where
    products are linked, the accounts and tax rates mapped for its side (sales or
    purchases; a linked item's own account and tax type for that side win), Factory's
    own amounts. `new`: not in the package yet; only then does the "approved" setting
    apply (a document already there keeps the status it has there). The order's own
    reference (the customer's PO number) is the package's Reference; Factory's number is
    the package's number unless the package numbers documents itself."""
    party = doc.customer if doc_type == "invoice" else doc.supplier
    link = db.session.scalar(conn_service.links_for(connection, party.kind).where(ExternalLink.local_id == party.id))
    if link is None and party.remote_state == "pending":
        # "Also create in the package" was ticked and the contact is on its way: wait for it
        raise RetriableError(f"Waiting for {party.name} to be created in the accounting package.", retry_after=3,
                             reached=False)
    if link is None:
        raise Rejected(f"Link this {party.kind} to the accounting package first: {party.name} is not linked.")
    side = mapping_service.SIDES[doc_type]
    gaps = mapping_service.missing(connection, side)
    if gaps:
        raise Rejected("The account and tax mapping is not complete (" + ", ".join(g.lower() for g in gaps)
                       + " missing): an administrator must save it under Settings > Integrations > Accounts and tax.")
    prefix = "sales" if side == "sales" else "purchase"
    account = getattr(connection, f"{prefix}_account_code")
    mapped = {True: getattr(connection, f"{prefix}_tax_taxable"), False: getattr(connection, f"{prefix}_tax_free")}
    rates = mapping_service.rates_by_code(connection)
    items = _linked_items(connection, [l.product_id for l in doc.lines if l.product_id])
    lines = []
    for line in doc.lines:
        item = items.get(line.product_id) or {}
        own_tax = item.get(f"{prefix}_tax_type")
        if own_tax and own_tax in rates and rates[own_tax][0] == line.tax_rate and rates[own_tax][1 if side == "sales" else 2]:
            tax_code = own_tax  # the item's own tax type, when it gives the line's rate
        else:
            tax_code = _tax_code(rates, side, mapped[line.tax_rate > 0], line.tax_rate)
        lines.append(DocumentLine(
            description=line.description or (line.product.name if line.product else "Item"),
            quantity=line.quantity, unit_price=line.unit_price, discount_percent=line.discount_percent,
            tax_code=tax_code, account_code=item.get(f"{prefix}_account_code") or account,
            item_code=item.get("code"), line_amount=line.line_subtotal))
    if not lines:
        raise Rejected("The document has no lines.")
    approved = connection.approve_documents if new else None
    ours = connection.document_numbers != "package"
    if doc_type == "invoice":
        return DocumentDraft(kind="sales_invoice", contact_remote_id=link.remote_id, number=doc.number if ours and new else None,
                             reference=doc.reference, issue_date=doc.issue_date, due_date=doc.due_date,
                             currency=doc.currency, lines=tuple(lines), approved=approved)
    from ..models import Organisation
    org = db.session.get(Organisation, doc.organisation_id)
    due = doc.expected_date or (doc.order_date + timedelta(days=org.payment_terms_days))
    return DocumentDraft(kind="bill", contact_remote_id=link.remote_id, number=doc.number if ours and new else None,
                         reference=doc.reference, issue_date=doc.order_date, due_date=due, currency=org.base_currency,
                         lines=tuple(lines), approved=approved)


def _linked_items(connection: AccountingConnection, product_ids: list[int]) -> dict[int, dict]:
    """product id -> what the synced list keeps of its linked item (code, its own accounts
    and tax types), for the products given; one query."""
    if not product_ids:
        return {}
    items = {}
    for product_id, code, data in db.session.execute(
            select(ExternalLink.local_id, RemoteRecord.code, RemoteRecord.data)
            .join(RemoteRecord, RemoteRecord.remote_id == ExternalLink.remote_id)
            .where(ExternalLink.organisation_id == connection.organisation_id, ExternalLink.local_type == "product",
                   ExternalLink.remote_org_id == connection.remote_org_id, ExternalLink.local_id.in_(product_ids),
                   RemoteRecord.organisation_id == connection.organisation_id, RemoteRecord.kind == "item",
                   RemoteRecord.remote_org_id == connection.remote_org_id)):
        try:
            details = json.loads(data or "{}")
        except ValueError:
            details = {}
        items[product_id] = {**(details if isinstance(details, dict) else {}), "code": code}
    return items


def _tax_code(rates: dict[str, tuple[Decimal, bool, bool]], side: str, mapped: str | None, rate: Decimal) -> str:
    """The mapped tax rate of this side when it is the line's rate; else the one rate of
    this side with the line's rate (refused when there is none, or several)."""
    usable = {code: r for code, (r, sales, purchases) in rates.items() if (sales if side == "sales" else purchases)}
    if mapped and usable.get(mapped) == rate:
        return mapped
    same = sorted(code for code, r in usable.items() if r == rate)
    if len(same) == 1:
        return same[0]
    kind = "sales" if side == "sales" else "purchase"
    if not same:
        raise Rejected(f"The accounting package has no {kind} tax rate of {rate.normalize()} %.")
    raise Rejected(f"Several {kind} tax rates of the package are {rate.normalize()} % ({', '.join(same)}): "
                   "an administrator must map the one to use under Settings > Integrations > Accounts and tax.")


# --- payment state ----------------------------------------------------------------------

def refresh_payment_state(push: DocumentPush, timeout: float | None = None) -> bool:
    """Read the invoice's payment state from the package; False when it can't be reached."""
    if push.remote_id is None:
        return False
    connection = conn_service.current_connection(push.organisation_id)
    if connection is None or connection.status != ACTIVE or not push.goes_to(connection):
        return False
    config = current_app.config if timeout is None else override(current_app.config, connection.provider,
                                                                   "HTTP_TIMEOUT", timeout)
    adapter = get_provider(connection.provider, config)
    try:
        state = conn_service.call(connection, lambda s: adapter.payment_state(s, push.remote_id))
    except ProviderError as exc:  # unreachable, or an answer it can't read: the last known state stands
        current_app.logger.warning("payment state of %s push %s not read: %s", push.doc_type, push.id, exc.message)
        return False
    store_payment_state(push, state)
    db.session.flush()
    return True


def refresh_payment_job(push_id: int) -> str:
    with job_context():
        push = db.session.get(DocumentPush, push_id)
        if push is None:
            return "gone"
        ok = refresh_payment_state(push)
        db.session.commit()
        return "refreshed" if ok else "unreachable"


def payment_check_due(invoice: Invoice) -> bool:
    """Is a sent invoice's last look at its payments over a minute old (and could a
    payment still change it)?"""
    return _check_due(push_for("invoice", invoice))


def _check_due(push: DocumentPush | None) -> bool:
    if push is None or push.remote_id is None or push.has_payments:
        return False
    return not (push.payment_checked_at and push.payment_checked_at > utcnow() - PAYMENT_CHECK_AGE)


def check_payment_if_stale(invoice: Invoice) -> str | None:
    """Opening an order: re-read a sent invoice's payments if the last look is over a
    minute old. Returns a note when the package could not be asked."""
    push = push_for("invoice", invoice)
    if not _check_due(push):
        return None
    if refresh_payment_state(push, timeout=2):
        return None
    when = push.payment_checked_at.strftime("%d %b, %H:%M UTC") if push.payment_checked_at else "never"
    return f"The accounting package could not be reached; payments as last known ({when})."


def lock_reason_for(invoice: Invoice) -> str | None:
    push = push_for("invoice", invoice)
    if push is None or not push.has_payments:
        return None
    package = get_provider(push.provider).display_name
    when = f" on {push.last_payment_date.day} {push.last_payment_date.strftime('%b')}" if push.last_payment_date else ""
    return f"Payment of {format_money(push.amount_paid)} applied in {package}{when}."


def handle_webhook_events(provider_key: str, events: list[WebhookEvent]) -> int:
    """A package's webhook events: each changed document Factory sent to that remote
    organisation has its payment state read again (queued; the webhook is answered at
    once). Returns how many reads were queued."""
    count = 0
    for item in events:
        if item.kind != WebhookEvent.DOCUMENT:
            continue
        for push in db.session.scalars(select(DocumentPush).where(
                DocumentPush.provider == provider_key, DocumentPush.remote_id == item.remote_id,
                DocumentPush.remote_org_id == item.remote_org_id)):
            enqueue_after_commit(tasks.REFRESH_PAYMENT, push.id)
            count += 1
    return count


__all__ = ["build_draft", "check_payment_if_stale", "handle_webhook_events", "lock_reason_for", "push_document",
           "push_for", "refresh_payment_state", "request_push", "requeue", "resume_waiting"]


# --- what lists and banners show -----------------------------------------------------------

PACKAGE_STATUSES = {"queued": "Queued", "sent": "Sent", "part_paid": "Part-paid", "paid": "Paid", "failed": "Failed"}
ZERO = Decimal("0")


def _status_condition(key: str):
    """SQL for one package status (equality only: SQLite keeps money as exact text)."""
    paid = DocumentPush.amount_paid.is_not(None) & (DocumentPush.amount_paid != ZERO)
    sent = DocumentPush.state == "sent"
    return {"queued": DocumentPush.state.in_(("queued", "waiting")), "failed": DocumentPush.state == "failed",
            "sent": sent & ~paid, "part_paid": sent & paid & (DocumentPush.amount_due != ZERO),
            "paid": sent & paid & (DocumentPush.amount_due == ZERO)}[key]


def package_status(push: DocumentPush | None) -> str | None:
    """The key of PACKAGE_STATUSES a document shows, or None (never sent)."""
    if push is None:
        return None
    return _status_key(push.state, push.amount_paid, push.amount_due)


def _status_key(state: str, amount_paid, amount_due) -> str:
    if state in ("queued", "waiting"):
        return "queued"
    if state == "failed":
        return "failed"
    if amount_paid and amount_paid > 0:
        return "paid" if amount_due == 0 else "part_paid"
    return "sent"


def _pushes(organisation_id: int, doc_type: str):
    """The pushes of this kind to the connected organisation (any, when none is connected)."""
    query = select(DocumentPush).where(DocumentPush.organisation_id == organisation_id,
                                       DocumentPush.doc_type == doc_type)
    connection = conn_service.current_connection(organisation_id)
    if connection is not None:
        query = query.where(DocumentPush.to(connection))
    return query


def where_package_status(query, doc_type: str, organisation_id: int, key: str, through=None):
    """A list's query, narrowed to the documents of this package status. The rows are the
    pushed documents, or `through` = (row id column, pushed document id column) of the
    table between them (an order's invoice: (Invoice.order_id, Invoice.id)), as for
    package_statuses.

    With a connected organisation a document has at most one push to it, so the pushes
    are joined: the list's sort can then be read from the pushes' side (the newest paid
    invoices, walking the invoices' index, measured 0.5 ms on 50,000 orders), where a
    semi-join walked the orders, 20,000 of them unpaid, to find fifty (24 ms). With none
    connected a document may have pushes to several organisations: a semi-join then,
    which lists each row once."""
    if key not in PACKAGE_STATUSES:
        return query
    entity = query.column_descriptions[0]["entity"]
    row_id, doc_id = through if through is not None else (entity.id, None)
    condition = (DocumentPush.organisation_id == organisation_id) & (DocumentPush.doc_type == doc_type) \
        & _status_condition(key)
    connection = conn_service.current_connection(organisation_id)
    if connection is None:
        ids = select(DocumentPush.doc_id).where(condition)
        if doc_id is not None:
            ids = select(row_id).where(doc_id.in_(ids))
        return query.where(entity.id.in_(ids))
    if doc_id is not None:
        query = query.join(doc_id.table, row_id == entity.id)
    return query.join(DocumentPush, (DocumentPush.doc_id == (doc_id if doc_id is not None else entity.id))
                      & DocumentPush.to(connection) & condition)


def package_statuses(organisation_id: int, doc_type: str, row_ids: list[int], through=None) -> dict[int, str]:
    """{row id: package status key} for a page of a list, in one query (of the columns
    that decide it: a list has no use for whole pushes). The rows are the pushed
    documents, or `through` = (row id column, pushed document id column) of the table
    between them (an order's invoice: (Invoice.order_id, Invoice.id))."""
    if not row_ids:
        return {}
    query = _pushes(organisation_id, doc_type)
    if through is None:
        row_id = DocumentPush.doc_id
    else:
        row_id, doc_id = through
        query = query.join(doc_id.table, doc_id == DocumentPush.doc_id)
    query = (query.where(row_id.in_(row_ids)).order_by(DocumentPush.id)
             .with_only_columns(row_id, DocumentPush.state, DocumentPush.amount_paid, DocumentPush.amount_due))
    return {key: _status_key(state, paid, due) for key, state, paid, due in db.session.execute(query)}


_ATTENTION_BUCKETS = {"waiting": ("queued", "waiting"), "failed": ("failed",)}
_ATTENTION = select(*(func.count().filter(DocumentPush.doc_type == doc_type, DocumentPush.state.in_(states))
                      .label(f"{bucket}.{doc_type}")
                      for bucket, states in _ATTENTION_BUCKETS.items() for doc_type in DOC_TYPES)).where(
    DocumentPush.state.in_(("queued", "waiting", "failed")))  # made once: building it was half its cost


def attention(organisation_id: int) -> dict[str, dict[str, int]]:
    """What has not reached the package: {"waiting": {"invoice": 3, ...}, "failed": {...}}
    (waiting: queued or parked for a reconnect; kinds with none are left out). One query,
    remembered until the organisation's rows change (every page's banner asks it)."""
    figures = counts.remembered(organisation_id, _ATTENTION.where(DocumentPush.organisation_id == organisation_id))
    found: dict[str, dict[str, int]] = {bucket: {} for bucket in _ATTENTION_BUCKETS}
    for label, n in figures.items():
        bucket, doc_type = label.split(".", 1)
        if n:
            found[bucket][doc_type] = int(n)
    return found


def push_view(doc_type: str, doc) -> dict:
    """What a page shows of a document's life in the package."""
    push = push_for(doc_type, doc)
    if push is None:
        return {"push": None}
    adapter = get_provider(push.provider)
    kind = "sales_invoice" if doc_type == "invoice" else "bill"
    view = {"push": push, "push_package": adapter.display_name,
            "push_url": adapter.document_url(kind, push.remote_id) if push.remote_id else None}
    if push.state == "failed":
        # not sent for want of a linked contact: the link control goes beside the message
        party = doc.customer if doc_type == "invoice" else doc.supplier
        connection = conn_service.current_connection(doc.organisation_id)
        if connection is not None and connection.status == ACTIVE:
            link_state = link_service.state_of(connection, party)
            if link_state.state != "linked":
                view.update(push_party=party, push_link_state=link_state, push_connection=connection)
    return view
