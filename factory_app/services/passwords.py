"""Passwords: changing one's own, an administrator setting another's, resetting by link.

Each of them ends every session of the user (a stolen cookie dies with the old password).
Reset links carry a token signed with SECRET_KEY (its own salt) that works for
PASSWORD_RESET_MAX_AGE seconds and only until the password changes: it names the user
and a fingerprint of the password hash, which a reset replaces, so a link works once.
"""
from __future__ import annotations

import hashlib

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer

from ..extensions import db
from ..models import User
from . import ServiceError
from .orgs import end_sessions

RESET_SALT = "factory-password-reset"


def change_password(user: User, current: str, new: str) -> None:
    if not user.check_password(current):
        raise ServiceError("That isn't your current password.", "current")
    _set(user, new)


def set_password(acting: User, user: User, new: str) -> None:
    """An administrator gives another user of the organisation a new password."""
    if user.id == acting.id:
        raise ServiceError("Change your own password under Your account.", "password")
    _set(user, new)


def reset_password(user: User, new: str) -> None:
    _set(user, new)


def _set(user: User, new: str) -> None:
    user.set_password(new)
    end_sessions(user)
    db.session.flush()


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESET_SALT)


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:24]


def reset_token(user: User) -> str:
    return _serializer().dumps({"user": user.id, "password": _fingerprint(user)})


def user_for_reset_token(token: str) -> User | None:
    """The active user the token was made for, while it is fresh and unused; else None."""
    try:
        data = _serializer().loads(token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"])
    except BadData:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("user"), int) or isinstance(data["user"], bool):
        return None
    user = db.session.get(User, data["user"])
    if user is None or not user.active or data.get("password") != _fingerprint(user):
        return None
    return user
