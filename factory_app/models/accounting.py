"""Connections to accounting packages, pending authorisations, and links between local
and remote records."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import Money, UTCDateTime, utcnow

ACTIVE, NEEDS_RECONNECT, DISCONNECTED = "active", "needs_reconnect", "disconnected"


class AccountingConnection(db.Model):
    """One organisation's connection to one remote organisation of a package.

    Tokens are Fernet-encrypted (accounting/crypto.py) and only ever read by
    accounting/connections.py. At most one connection per organisation is not
    disconnected; disconnected rows stay as history.
    """
    __tablename__ = "accounting_connections"
    __table_args__ = (Index("ix_accounting_connections_org_status", "organisation_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=ACTIVE)
    remote_org_id: Mapped[str] = mapped_column(String(100))
    remote_org_name: Mapped[str] = mapped_column(String(255))
    remote_connection_id: Mapped[str | None] = mapped_column(String(100))
    access_token_enc: Mapped[str | None] = mapped_column(Text)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    access_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    scopes: Mapped[str | None] = mapped_column(Text)
    connected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    disconnected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_update_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    problem: Mapped[str | None] = mapped_column(Text)
    # the package has not answered since then (timeouts, refused connections, 5xx); cleared
    # by its next answer. What waits meanwhile goes out once a probe gets one.
    unreachable_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # incremental sync, one bookmark per list read ({stream: ISO time}: "contacts", "items";
    # a package that keeps customers and suppliers apart reads two lists): what changed
    # since is read next time. Read and set through bookmark() / set_bookmark().
    bookmarks: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    # what a package needs of the connection beyond the remote organisation's id (a
    # company file's address, say), as the adapter returned it; in every ApiSession
    package_data: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    # mapping, chosen on the Integrations page from the synced lists, for each side apart
    # (a bill takes the purchases account and a purchase tax rate, never the sales ones);
    # `mapping_proposed` is what Factory read from the package's defaults, shown
    # preselected until an administrator saves the mapping (JSON: {field: code})
    sales_account_code: Mapped[str | None] = mapped_column(String(50))
    sales_tax_taxable: Mapped[str | None] = mapped_column(String(50))
    sales_tax_free: Mapped[str | None] = mapped_column(String(50))
    purchase_account_code: Mapped[str | None] = mapped_column(String(50))
    purchase_tax_taxable: Mapped[str | None] = mapped_column(String(50))
    purchase_tax_free: Mapped[str | None] = mapped_column(String(50))
    mapping_proposed: Mapped[str | None] = mapped_column(Text)
    # sending documents
    send_invoices: Mapped[bool] = mapped_column(default=False)
    send_purchases: Mapped[bool] = mapped_column(default=False)
    approve_documents: Mapped[bool] = mapped_column(default=False)  # new documents: else drafts in the package
    # whose numbers documents carry in the package: "factory" (Factory's, the default) or
    # "package" (the package numbers them)
    document_numbers: Mapped[str] = mapped_column(String(20), default="factory", server_default="factory")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    connected_by = relationship("User")

    def bookmark(self, stream: str) -> datetime | None:
        value = (self.bookmarks or {}).get(stream)
        return datetime.fromisoformat(value) if value else None

    def set_bookmark(self, stream: str, moment: datetime | None) -> None:
        """A new dict, so that the change is seen and stored (times in UTC, ISO 8601)."""
        bookmarks = dict(self.bookmarks or {})
        if moment is None:
            bookmarks.pop(stream, None)
        else:
            bookmarks[stream] = (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)) \
                .astimezone(timezone.utc).isoformat()
        self.bookmarks = bookmarks

    @property
    def is_open(self) -> bool:
        return self.status != DISCONNECTED


class PendingAuthorisation(db.Model):
    """An OAuth round trip in progress: its state and PKCE verifier stay on the server,
    single-use; after the code exchange it holds the tokens (encrypted) while the user
    picks an organisation."""
    __tablename__ = "pending_authorisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(100), unique=True)
    code_verifier_enc: Mapped[str | None] = mapped_column(Text)
    access_token_enc: Mapped[str | None] = mapped_column(Text)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    access_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    scopes: Mapped[str | None] = mapped_column(Text)
    choices_json: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ExternalLink(db.Model):
    """A local record linked to a remote one. Tagged with the remote organisation, so that
    reconnecting to the same organisation finds its links again and a different
    organisation ignores them."""
    __tablename__ = "external_links"
    __table_args__ = (
        UniqueConstraint("organisation_id", "provider", "remote_org_id", "local_type", "local_id"),
        Index("ix_external_links_remote", "organisation_id", "provider", "remote_org_id", "local_type", "remote_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    provider: Mapped[str] = mapped_column(String(20))
    remote_org_id: Mapped[str] = mapped_column(String(100))
    local_type: Mapped[str] = mapped_column(String(20))  # customer, supplier, product, invoice, purchase
    local_id: Mapped[int]
    remote_id: Mapped[str] = mapped_column(String(100))
    remote_name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DocumentPush(db.Model):
    """A sales invoice or a purchase order on its way to (and in) the accounting package,
    with the payment state read back for invoices."""
    __tablename__ = "document_pushes"
    # one push of a document to each remote organisation of each package
    __table_args__ = (UniqueConstraint("organisation_id", "doc_type", "doc_id", "provider", "remote_org_id"),
                      Index("ix_document_pushes_org_state", "organisation_id", "state"))

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))  # indexed by ix_document_pushes_org_state
    provider: Mapped[str] = mapped_column(String(20))
    remote_org_id: Mapped[str] = mapped_column(String(100))
    doc_type: Mapped[str] = mapped_column(String(20))  # invoice, purchase
    doc_id: Mapped[int]
    state: Mapped[str] = mapped_column(String(20), default="queued")  # queued sent failed waiting
    message: Mapped[str | None] = mapped_column(Text)
    remote_id: Mapped[str | None] = mapped_column(String(100), index=True)
    remote_number: Mapped[str | None] = mapped_column(String(255))
    remote_status: Mapped[str | None] = mapped_column(String(30))
    pushed_version: Mapped[int | None]
    wanted_version: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)  # requests that carried it
    # the RQ job that will send it (its own, a batch's retry, the connection's probe): a
    # push waiting with no live job is given one by the outbox sweep
    job_id: Mapped[str | None] = mapped_column(String(100))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    amount_paid: Mapped[Decimal | None] = mapped_column(Money(2))
    amount_due: Mapped[Decimal | None] = mapped_column(Money(2))
    last_payment_date: Mapped[date | None]
    payment_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # set (and committed) before a create request goes out, cleared once its outcome is
    # known: a push still carrying it may exist in the package and is looked up first
    unconfirmed_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @classmethod
    def to(cls, connection: "AccountingConnection"):
        """The condition: pushes to this connection's remote organisation, of its package."""
        return (cls.provider == connection.provider) & (cls.remote_org_id == connection.remote_org_id)

    def goes_to(self, connection: "AccountingConnection | None") -> bool:
        return connection is not None and (self.provider, self.remote_org_id) == (connection.provider,
                                                                                   connection.remote_org_id)

    @property
    def has_payments(self) -> bool:
        return bool(self.amount_paid and self.amount_paid > 0)
