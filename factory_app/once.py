"""One effect per form, however often it is sent: a double click, a retried request, or
eight identical requests at once.

Every form that creates something carries a token made when the form was rendered
(`{{ once_field() }}`, or `once_token()` in hx-vals). The route calls `claim()` before
it writes anything: that inserts the token (unique) in the request's own transaction,
so of several requests with one token the first holds it until it commits (PostgreSQL
makes the others wait on the unique index; SQLite on its write lock) and the others
then find it taken and answer with what the first made (`record(url)` stores where
that is shown). A request that fails rolls back and leaves the token free. A form sent
without a token (an old page, a script) is handled as before, without the guard.
"""
from __future__ import annotations

import secrets
from datetime import timedelta

from flask import Flask, flash, g, request
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from .extensions import db
from .models import FormSubmission
from .models.types import utcnow

FIELD = "once"
KEPT = timedelta(days=2)  # a form older than this may be sent again as new


class Duplicate(Exception):
    """This form was handled already; `url` shows what it made (None: not known)."""

    def __init__(self, url: str | None):
        super().__init__(url)
        self.url = url


def token() -> str:
    return secrets.token_urlsafe(18)


def field() -> Markup:
    return Markup(f'<input type="hidden" name="{FIELD}" value="{escape(token())}">')


def claim() -> None:
    """Take this request's token, first thing. Raises Duplicate when an identical request
    got there first (and committed); the transaction is rolled back then."""
    value = request.form.get(FIELD, "")
    if not value or len(value) > 64 or not current_user.is_authenticated:
        return
    row = FormSubmission(token=value, user_id=current_user.id)
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        earlier = db.session.scalar(select(FormSubmission).where(FormSubmission.token == value))
        url = earlier.result_url if earlier is not None and earlier.user_id == current_user.id else None
        raise Duplicate(url) from None
    g.once_submission = row
    db.session.execute(delete(FormSubmission).where(FormSubmission.user_id == current_user.id,
                                                    FormSubmission.created_at < utcnow() - KEPT))


def record(url: str) -> None:
    """Where what this request made is shown (for the identical requests after it)."""
    row = g.get("once_submission")
    if row is not None:
        row.result_url = url


def answer(duplicate: Duplicate, fallback: str):
    """The answer to a form handled already: what it made, with a note."""
    from .web import redirect_to
    flash("That was saved already.", "info")
    return redirect_to(duplicate.url or fallback)


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(once_field=field, once_token=token)
