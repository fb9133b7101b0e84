"""Sales orders, invoices and purchase orders, and their lines.

Every document carries its lines and the totals computed from them (see
factory_app.money). `version` goes up whenever lines or totals change, so that a
later push to an accounting package can derive an idempotency key from it.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, query_expression, relationship

from ..extensions import db
from .types import Money, UTCDateTime, utcnow

ORDER_STATUSES = ("draft", "confirmed", "invoiced", "cancelled")
PURCHASE_STATUSES = ("draft", "sent", "received", "cancelled")


class DocumentMixin:
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30))
    reference: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    notes: Mapped[str | None] = mapped_column(Text)
    subtotal: Mapped[Decimal] = mapped_column(Money(2), default=Decimal("0"))
    tax_total: Mapped[Decimal] = mapped_column(Money(2), default=Decimal("0"))
    total: Mapped[Decimal] = mapped_column(Money(2), default=Decimal("0"))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @declared_attr
    def organisation_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("organisations.id"), index=True)

    @declared_attr
    def party_name(cls) -> Mapped[str | None]:
        """The customer's or supplier's name where a list's query reads it beside the row
        (with_expression; see listing.party_name), so a row needn't load its party; None
        where nothing read it."""
        return query_expression()


class LineMixin:
    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
    description: Mapped[str] = mapped_column(String(500), default="")
    quantity: Mapped[Decimal] = mapped_column(Money(4), default=Decimal("1"))
    unit_price: Mapped[Decimal] = mapped_column(Money(4), default=Decimal("0"))
    discount_percent: Mapped[Decimal] = mapped_column(Money(2), default=Decimal("0"))
    tax_rate: Mapped[Decimal] = mapped_column(Money(3), default=Decimal("0"))
    line_subtotal: Mapped[Decimal] = mapped_column(Money(2), default=Decimal("0"))
    line_tax: Mapped[Decimal] = mapped_column(Money(2), default=Decimal("0"))
    line_total: Mapped[Decimal] = mapped_column(Money(2), default=Decimal("0"))

    @declared_attr
    def product_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("products.id", ondelete="SET NULL"))

    @declared_attr
    def product(cls):
        return relationship("Product")


class SalesOrder(DocumentMixin, db.Model):
    __tablename__ = "sales_orders"
    # the lists filter by status and sort by date, number (the id) or total (ties by id, so
    # an index gives the order whole, without a sort of every row, and a deep page is a
    # walk along an index) within an organisation; the dashboard counts by status
    __table_args__ = (UniqueConstraint("organisation_id", "number"),
                      Index("ix_sales_orders_org_status_id", "organisation_id", "status", "id"),
                      Index("ix_sales_orders_org_date_id", "organisation_id", "order_date", "id"),
                      Index("ix_sales_orders_org_id", "organisation_id", "id"),
                      Index("ix_sales_orders_org_total_id", "organisation_id", "total", "id"))
    kind = "order"

    customer_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    order_date: Mapped[date]
    delivery_date: Mapped[date | None]
    delivery_notes: Mapped[str | None] = mapped_column(Text)

    customer = relationship("Customer")
    lines: Mapped[list["SalesOrderLine"]] = relationship(
        back_populates="order", cascade="all, delete-orphan",
        order_by="(SalesOrderLine.position, SalesOrderLine.id)",
    )
    invoice: Mapped["Invoice | None"] = relationship(back_populates="order", uselist=False)

    @property
    def party(self):
        return self.customer


class SalesOrderLine(LineMixin, db.Model):
    __tablename__ = "sales_order_lines"

    order_id: Mapped[int] = mapped_column(ForeignKey("sales_orders.id", ondelete="CASCADE"), index=True)
    order: Mapped[SalesOrder] = relationship(back_populates="lines")


class Invoice(DocumentMixin, db.Model):
    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("organisation_id", "number"), UniqueConstraint("order_id"),
                      Index("ix_invoices_org_issue_date_id", "organisation_id", "issue_date", "id"),
                      Index("ix_invoices_org_id", "organisation_id", "id"),
                      Index("ix_invoices_org_total_id", "organisation_id", "total", "id"))
    kind = "invoice"

    order_id: Mapped[int] = mapped_column(ForeignKey("sales_orders.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    issue_date: Mapped[date]
    due_date: Mapped[date]
    currency: Mapped[str] = mapped_column(String(3))

    order: Mapped[SalesOrder] = relationship(back_populates="invoice")
    customer = relationship("Customer")
    order_number: Mapped[str | None] = query_expression()  # as party_name: the invoices list reads it
    lines: Mapped[list["InvoiceLine"]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan",
        order_by="(InvoiceLine.position, InvoiceLine.id)",
    )


class InvoiceLine(LineMixin, db.Model):
    __tablename__ = "invoice_lines"

    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class PurchaseOrder(DocumentMixin, db.Model):
    __tablename__ = "purchase_orders"
    __table_args__ = (UniqueConstraint("organisation_id", "number"),
                      Index("ix_purchase_orders_org_status_id", "organisation_id", "status", "id"),
                      Index("ix_purchase_orders_org_date_id", "organisation_id", "order_date", "id"),
                      Index("ix_purchase_orders_org_id", "organisation_id", "id"),
                      Index("ix_purchase_orders_org_total_id", "organisation_id", "total", "id"))
    kind = "purchase"

    supplier_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    order_date: Mapped[date]
    expected_date: Mapped[date | None]
    delivery_notes: Mapped[str | None] = mapped_column(Text)

    supplier = relationship("Supplier")
    lines: Mapped[list["PurchaseOrderLine"]] = relationship(
        back_populates="purchase", cascade="all, delete-orphan",
        order_by="(PurchaseOrderLine.position, PurchaseOrderLine.id)",
    )

    @property
    def party(self):
        return self.supplier


class PurchaseOrderLine(LineMixin, db.Model):
    __tablename__ = "purchase_order_lines"

    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True)
    purchase: Mapped[PurchaseOrder] = relationship(back_populates="lines")
