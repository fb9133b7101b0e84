"""Form submissions already handled: what makes a double click (or eight identical
requests at once) create one record. See factory_app/once.py."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow


class FormSubmission(db.Model):
    __tablename__ = "form_submissions"
    __table_args__ = (Index("ix_form_submissions_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    result_url: Mapped[str | None] = mapped_column(String(500))  # where what it made is shown
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
