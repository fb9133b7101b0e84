"""Connections to accounting packages, pending authorisations, and links between local
and remote records."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow

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
    # incremental sync: what changed since these moments is read next time
    contacts_bookmark: Mapped[datetime | None] = mapped_column(UTCDateTime())
    items_bookmark: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # mapping, chosen on the Integrations page from the synced lists
    sales_account_code: Mapped[str | None] = mapped_column(String(50))
    purchase_account_code: Mapped[str | None] = mapped_column(String(50))
    tax_code_taxable: Mapped[str | None] = mapped_column(String(50))
    tax_code_free: Mapped[str | None] = mapped_column(String(50))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    connected_by = relationship("User")

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
