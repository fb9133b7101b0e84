"""What Factory knows of an invoice's payments in the package (it never records one): the
state the package answers, read when an order is opened (if the last look is over a
minute old), on a webhook, and by the update; stored on the document's push. Once a
payment is applied there, the order's products and prices are locked in Factory."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..jobs import enqueue_after_commit, job_context
from ..models import DocumentPush, Invoice
from ..models.types import utcnow
from ..money import format_money
from . import connections as conn_service
from . import provider as get_provider
from .settings import override
from . import tasks
from .base import PaymentState, ProviderError, WebhookEvent
from .pushes import its_connection, push_for


def store_payment_state(push: DocumentPush, state: PaymentState) -> None:
    """What the package holds of the document: its id, number, status and payments."""
    push.remote_id = state.remote_id or push.remote_id
    push.remote_number = state.number or push.remote_number
    push.remote_status = state.status
    push.amount_paid, push.amount_due = state.amount_paid, state.amount_due
    push.last_payment_date = state.last_payment_date.date() if isinstance(state.last_payment_date, datetime) \
        else state.last_payment_date
    push.payment_checked_at = utcnow()


PAYMENT_CHECK_AGE = timedelta(minutes=1)  # an order opened later than this after the last look asks again


def refresh_payment_state(push: DocumentPush, timeout: float | None = None) -> bool:
    """Read the invoice's payment state from the package; False when it can't be reached."""
    if push.remote_id is None:
        return False
    connection = its_connection(push)
    if connection is None:
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
