from __future__ import annotations

from sqlalchemy import func, select

from ..extensions import db
from ..models import ROLE_ADMIN, Organisation, User
from . import ServiceError


def email_taken(email: str, exclude_user_id: int | None = None) -> bool:
    query = select(User.id).where(func.lower(User.email) == email.strip().lower())
    if exclude_user_id:
        query = query.where(User.id != exclude_user_id)
    return db.session.scalar(query) is not None


def sign_up(org_name: str, name: str, email: str, password: str) -> User:
    """A new organisation with its first user, an administrator."""
    if email_taken(email):
        raise ServiceError("An account with this email already exists. Log in instead.", "email")
    org = Organisation(name=org_name.strip())
    db.session.add(org)
    user = User(organisation=org, name=name.strip(), email=email.strip().lower(), role=ROLE_ADMIN)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def add_user(org: Organisation, name: str, email: str, role: str, password: str) -> User:
    if email_taken(email):
        raise ServiceError("Another user already has this email.", "email")
    user = User(organisation=org, name=name.strip(), email=email.strip().lower(), role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def change_role(acting: User, user: User, role: str, active: bool) -> None:
    if user.id == acting.id and (role != ROLE_ADMIN or not active):
        raise ServiceError("You can't remove your own administrator access.", "role")
    user.role = role
    user.active = active
    db.session.flush()


def authenticate(email: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or not user.active or not user.check_password(password):
        return None
    return user
