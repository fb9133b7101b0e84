"""What Factory knows of a document's payments in the package (it never records one): the
state the package answered, stored on the document's push."""
from __future__ import annotations

from datetime import datetime

from ..models import DocumentPush
from ..models.types import utcnow
from .base import PaymentState


def store_payment_state(push: DocumentPush, state: PaymentState) -> None:
    """What the package holds of the document: its id, number, status and payments."""
    push.remote_id = state.remote_id or push.remote_id
    push.remote_number = state.number or push.remote_number
    push.remote_status = state.status
    push.amount_paid, push.amount_due = state.amount_paid, state.amount_due
    push.last_payment_date = state.last_payment_date.date() if isinstance(state.last_payment_date, datetime) \
        else state.last_payment_date
    push.payment_checked_at = utcnow()
