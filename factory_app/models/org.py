from __future__ import annotations

import functools
import secrets
from datetime import datetime
from decimal import Decimal

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from .types import Money, UTCDateTime, utcnow

ROLE_ADMIN = "administrator"
ROLE_STAFF = "staff"
ROLES = (ROLE_ADMIN, ROLE_STAFF)


class Organisation(db.Model):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    base_currency: Mapped[str] = mapped_column(String(3), default="AUD")
    timezone: Mapped[str] = mapped_column(String(64), default="Australia/Sydney")
    default_tax_rate: Mapped[Decimal] = mapped_column(Money(3), default=Decimal("10"))
    payment_terms_days: Mapped[int] = mapped_column(default=30)
    # Counters for document numbers; read under a row lock when a number is taken.
    next_order_number: Mapped[int] = mapped_column(default=1)
    next_invoice_number: Mapped[int] = mapped_column(default=1)
    next_purchase_number: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    users: Mapped[list["User"]] = relationship(back_populates="organisation", order_by="User.id")


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default=ROLE_STAFF)
    active: Mapped[bool] = mapped_column(default=True)
    # Part of every session and remember-me cookie (get_id); a new one ends them all.
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organisation: Mapped[Organisation] = relationship(back_populates="users")

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:  # Flask-Login's alternative id: "<id>:<session token>"
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == ROLE_ADMIN


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_urlsafe(16))  # the method set_password uses


def check_password_of_nobody(password: str) -> bool:
    """The work of a real password check, for an email with no (active) user behind it:
    the answer then takes as long as for a known one. Always False."""
    check_password_hash(_dummy_hash(), password)
    return False
