"""Who is logged in: Flask-Login's user loader."""
from __future__ import annotations

from flask import Flask

from .extensions import db, login_manager
from .models import User


def init_app(app: Flask) -> None:
    @login_manager.user_loader
    def load_user(user_id: str):
        try:
            return db.session.get(User, int(user_id))
        except (TypeError, ValueError):
            return None
