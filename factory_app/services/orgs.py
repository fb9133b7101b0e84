"""Organisations and their users: signing up, adding users, roles, logging in, sessions."""
from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import ROLE_ADMIN, Organisation, User
from ..models.org import check_password_of_nobody, new_session_token
from . import ServiceError

SIGNUP_EMAIL_TAKEN = "An account with this email already exists. Log in instead."
USER_EMAIL_TAKEN = "Another user already has this email."


def normalise_email(email: str) -> str:
    return email.strip().lower()


def move_numbers_forward(organisation_id: int, numbers: dict[str, int]) -> dict[str, int]:
    """Set the next document numbers (e.g. past numbers the accounting package already
    has). A counter only moves forward, in the database (UPDATE … WHERE counter <= new),
    so it never hands out a number again, even while documents are being created.
    Returns {counter: its current value} for those that would have gone back."""
    refused = {}
    for counter, value in numbers.items():
        column = getattr(Organisation, counter)
        moved = db.session.execute(update(Organisation).where(Organisation.id == organisation_id, column <= value)
                                   .values({column: value}).execution_options(synchronize_session=False)).rowcount
        if not moved:
            refused[counter] = db.session.scalar(select(column).where(Organisation.id == organisation_id))
    org = db.session.identity_map.get(db.session.identity_key(Organisation, organisation_id))
    if org is not None:
        db.session.expire(org, list(numbers))
    return refused


def email_taken(email: str, exclude_user_id: int | None = None) -> bool:
    query = select(User.id).where(func.lower(User.email) == normalise_email(email))
    if exclude_user_id:
        query = query.where(User.id != exclude_user_id)
    return db.session.scalar(query) is not None


def active_user_by_email(email: str) -> User | None:
    user = db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))
    return user if user is not None and user.active else None


def sign_up(org_name: str, name: str, email: str, password: str) -> User:
    """A new organisation with its first user, an administrator."""
    if email_taken(email):
        raise ServiceError(SIGNUP_EMAIL_TAKEN, "email")
    org = Organisation(name=org_name.strip())
    db.session.add(org)
    user = User(organisation=org, name=name.strip(), email=normalise_email(email), role=ROLE_ADMIN)
    user.set_password(password)
    db.session.add(user)
    _flush_new_user(email, SIGNUP_EMAIL_TAKEN)
    return user


def add_user(org: Organisation, name: str, email: str, role: str, password: str) -> User:
    if email_taken(email):
        raise ServiceError(USER_EMAIL_TAKEN, "email")
    user = User(organisation=org, name=name.strip(), email=normalise_email(email), role=role)
    user.set_password(password)
    db.session.add(user)
    _flush_new_user(email, USER_EMAIL_TAKEN)
    return user


def _flush_new_user(email: str, taken_message: str) -> None:
    """The check above can't see a request that is creating the same email right now (a
    double click, a retried POST): the unique index does. Losing that race rolls the
    session back (nothing else of the request is kept) and answers like the check."""
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        if email_taken(email):
            raise ServiceError(taken_message, "email") from None
        raise


def change_role(acting: User, user: User, role: str, active: bool) -> None:
    if user.id == acting.id and (role != ROLE_ADMIN or not active):
        raise ServiceError("You can't remove your own administrator access.", "role")
    deactivated = user.active and not active
    user.role = role
    user.active = active
    if deactivated:
        end_sessions(user)
    db.session.flush()


def end_sessions(user: User) -> None:
    """Log the user out everywhere: every session and remember-me cookie made so far
    carries the old token, which no longer loads them (see sessions.py)."""
    user.session_token = new_session_token()
    db.session.flush()


def authenticate(email: str, password: str) -> User | None:
    """The user with this email and password, if they may log in. An unknown email or an
    inactive user costs the same password check as a known one, so the time taken
    doesn't tell which emails have accounts."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))
    if user is None or not user.active:
        check_password_of_nobody(password)
        return None
    if not user.check_password(password):
        return None
    return user
