from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import Money, UTCDateTime, utcnow


class Product(db.Model):
    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("organisation_id", "sku"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    sku: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    sale_price: Mapped[Decimal] = mapped_column(Money(4), default=Decimal("0"))
    purchase_cost: Mapped[Decimal] = mapped_column(Money(4), default=Decimal("0"))
    unit: Mapped[str | None] = mapped_column(String(20))
    taxable: Mapped[bool] = mapped_column(default=True)
    archived: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def label(self) -> str:
        return f"{self.sku} — {self.name}"
