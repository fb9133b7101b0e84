"""Customers and suppliers: one table (single-table inheritance), two kinds.

A business that both buys from and sells to us is one Customer and one Supplier.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow

ADDRESS_KINDS = ("postal", "street")


class Party(db.Model):
    __tablename__ = "parties"
    __table_args__ = (
        CheckConstraint("kind IN ('customer', 'supplier')", name="kind"),
        Index("ix_parties_org_kind_name", "organisation_id", "kind", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # no index of its own: ix_parties_org_kind_name starts with it (every lookup by
    # organisation uses that one; a second index only made each insert dearer)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(50))
    website: Mapped[str | None] = mapped_column(String(255))
    tax_number: Mapped[str | None] = mapped_column(String(50))
    notes: Mapped[str | None] = mapped_column(Text)
    archived: Mapped[bool] = mapped_column(default=False)
    # "Also create in the accounting package": None, pending, linked or failed (+ message)
    remote_state: Mapped[str | None] = mapped_column(String(20))
    remote_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    addresses: Mapped[list["Address"]] = relationship(
        back_populates="party", cascade="all, delete-orphan", order_by="Address.kind"
    )
    people: Mapped[list["ContactPerson"]] = relationship(
        back_populates="party", cascade="all, delete-orphan", order_by="ContactPerson.id"
    )

    # the city a list shows, read beside the row by the list's query (listing.beside:
    # its street address's, else its postal address's); None where nothing read it
    city: Mapped[str | None] = query_expression()

    __mapper_args__ = {"polymorphic_on": "kind"}

    def address(self, kind: str) -> "Address | None":
        return next((a for a in self.addresses if a.kind == kind), None)


class Customer(Party):
    __mapper_args__ = {"polymorphic_identity": "customer"}
    label = "customer"
    plural = "customers"


class Supplier(Party):
    __mapper_args__ = {"polymorphic_identity": "supplier"}
    label = "supplier"
    plural = "suppliers"


class Address(db.Model):
    __tablename__ = "addresses"
    __table_args__ = (
        UniqueConstraint("party_id", "kind"),
        CheckConstraint("kind IN ('postal', 'street')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    line1: Mapped[str | None] = mapped_column(String(255))
    line2: Mapped[str | None] = mapped_column(String(255))
    city: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100))
    postcode: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(100))

    party: Mapped[Party] = relationship(back_populates="addresses")

    FIELDS = ("line1", "line2", "city", "region", "postcode", "country")

    def is_blank(self) -> bool:
        return not any(getattr(self, f) for f in self.FIELDS)

    def one_line(self) -> str:
        return ", ".join(getattr(self, f) for f in self.FIELDS if getattr(self, f))


class ContactPerson(db.Model):
    __tablename__ = "contact_people"

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(50))

    party: Mapped[Party] = relationship(back_populates="people")
