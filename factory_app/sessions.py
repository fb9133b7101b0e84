"""Who is logged in: Flask-Login's user loader.

Sessions and remember-me cookies carry `User.get_id()`, the user's id and session token
("12:Xq3..."). `services.orgs.end_sessions()` gives the user a new token (logging out,
a password change or reset, being deactivated), and from then on every cookie made with
the old one loads nobody.
"""
from __future__ import annotations

import hmac

from flask import Flask
from sqlalchemy.orm import joinedload

from .extensions import db, login_manager
from .models import User


def load_user(user_id: str) -> User | None:
    ident, _, token = (user_id or "").partition(":")
    if not (ident.isascii() and ident.isdigit() and len(ident) < 19) or not token:
        return None  # a cookie from before session tokens, or not ours
    # with its organisation: nearly every page shows or scopes by it (one query, not two)
    user = db.session.get(User, int(ident), options=[joinedload(User.organisation)])
    if user is None or not user.active:
        return None
    if not hmac.compare_digest(user.session_token.encode(), token.encode()):
        return None  # that session was ended
    return user


def init_app(app: Flask) -> None:
    login_manager.user_loader(load_user)
