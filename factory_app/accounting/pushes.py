"""A document's push (DocumentPush): the one to a connection's remote organisation, or a
document's latest, found once a request (the order page's payment gate, its lock and its
panel all ask) and forgotten when a push is made or the session rolls back.
"""
from __future__ import annotations


import secrets

from flask import g, has_request_context
from rq import Retry
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ..extensions import db
from ..jobs import enqueue_after_commit
from ..models import ACTIVE, AccountingConnection, DocumentPush, Invoice, PurchaseOrder
from . import connections as conn_service
from . import tasks


DOC_TYPES = {"invoice": Invoice, "purchase": PurchaseOrder}
JOB_RETRY = Retry(max=3, interval=[10, 30, 60])  # a database or Redis error in the job itself


def its_connection(push: DocumentPush) -> AccountingConnection | None:
    """The organisation's connection when it is active and the push goes to it (its
    package and remote organisation); else None: nothing is to be said to the package."""
    connection = conn_service.current_connection(push.organisation_id)
    if connection is None or connection.status != ACTIVE or not push.goes_to(connection):
        return None
    return connection


def enqueue_push(push: DocumentPush, version: int) -> None:
    """One job per request to send, named on the push (the outbox sweep gives a push
    whose job is gone a new one); the same request enqueued twice runs once (and a job
    run twice finds its push sent)."""
    push.job_id = f"push-{push.id}-v{version}-{secrets.token_hex(4)}"
    push.next_attempt_at = None
    enqueue_after_commit(tasks.PUSH_DOCUMENTS, push.id, job_id=push.job_id, unique=True, retry=JOB_RETRY)


def requeue(push: DocumentPush) -> None:
    """The outbox sweep: this push waits with no live job (Redis lost it, its worker was
    killed between commit and enqueue): a new one. No attempt is counted: none was made."""
    enqueue_push(push, push.wanted_version)


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
