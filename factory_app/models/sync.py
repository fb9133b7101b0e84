"""What the integration keeps besides the connection: the synced lists of remote
records, each run of an import or sync with its counts, failed records, and the review
list of doubtful matches."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow


class RemoteRecord(db.Model):
    """The synced list of the package's contacts, items, accounts and tax rates, per
    remote organisation: what link controls search and mapping menus offer."""
    __tablename__ = "remote_records"
    __table_args__ = (
        UniqueConstraint("organisation_id", "provider", "remote_org_id", "kind", "remote_id"),
        Index("ix_remote_records_name", "organisation_id", "remote_org_id", "kind", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    provider: Mapped[str] = mapped_column(String(20))
    remote_org_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # contact, item, account, tax_rate
    remote_id: Mapped[str] = mapped_column(String(100))
    code: Mapped[str | None] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    # for kind == "tax_rate": is_customer = offered on sales, is_supplier = offered on purchases
    is_customer: Mapped[bool] = mapped_column(default=False)
    is_supplier: Mapped[bool] = mapped_column(default=False)
    archived: Mapped[bool] = mapped_column(default=False)
    data: Mapped[str | None] = mapped_column(Text)  # the dataclass as JSON (account: its type; tax_rate: its rate)
    remote_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SyncRun(db.Model):
    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_org_created", "organisation_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    connection_id: Mapped[int | None] = mapped_column(ForeignKey("accounting_connections.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(30))  # import_customers, import_suppliers, sync, create_contact
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued running done failed
    stage: Mapped[str | None] = mapped_column(String(100))
    # where an interrupted run goes on: the adapter's cursor of the next page (None: the first)
    next_page: Mapped[str | None] = mapped_column(String(500))
    pages_done: Mapped[int] = mapped_column(default=0)
    total_pages: Mapped[int | None]
    seen: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    linked: Mapped[int] = mapped_column(default=0)
    review: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    message: Mapped[str | None] = mapped_column(Text)
    subject_id: Mapped[int | None]  # the party of a create_contact run
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def running(self) -> bool:
        return self.status in ("queued", "running")

    @property
    def percent(self) -> int:
        if self.status == "done":
            return 100
        if not self.total_pages:
            return 5 if self.status == "running" else 0
        return min(99, int(100 * self.pages_done / self.total_pages))


class SyncFailure(db.Model):
    """One record a run could not handle, with the package's message; Retry where it helps."""
    __tablename__ = "sync_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id", ondelete="CASCADE"), index=True)
    remote_id: Mapped[str | None] = mapped_column(String(100))
    local_type: Mapped[str | None] = mapped_column(String(20))
    local_id: Mapped[int | None]
    name: Mapped[str | None] = mapped_column(String(255))
    message: Mapped[str] = mapped_column(Text)
    resolved: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ImportReview(db.Model):
    """A doubtful match the import did not guess: the user links, creates or skips it."""
    __tablename__ = "import_reviews"
    __table_args__ = (Index("ix_import_reviews_open", "organisation_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id", ondelete="SET NULL"))
    provider: Mapped[str] = mapped_column(String(20))
    remote_org_id: Mapped[str] = mapped_column(String(100))
    local_type: Mapped[str] = mapped_column(String(20))  # customer / supplier
    remote_id: Mapped[str] = mapped_column(String(100))
    remote_name: Mapped[str] = mapped_column(String(255))
    remote_email: Mapped[str | None] = mapped_column(String(255))
    remote_data: Mapped[str] = mapped_column(Text)
    candidate_ids: Mapped[str] = mapped_column(String(500))  # comma-separated local ids
    reason: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20), default="open")  # open linked created skipped
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
