"""Linking Factory records to remote ones by hand (the link controls), and the link
state a record shows."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import AccountingConnection, ExternalLink, Party, RemoteRecord
from . import connections as conn_service
from .base import Rejected
from .text import normalise_name


@dataclass
class LinkState:
    state: str | None            # None (not linked), pending, linked, failed
    remote_name: str | None = None
    message: str | None = None
    existing: RemoteRecord | None = None  # a remote record of the same name, to link instead


def local_type(record) -> str:
    return record.kind if isinstance(record, Party) else "product"


def link_of(connection: AccountingConnection | None, record) -> ExternalLink | None:
    if connection is None:
        return None
    return db.session.scalar(conn_service.links_for(connection, local_type(record))
                             .where(ExternalLink.local_id == record.id))


def state_of(connection: AccountingConnection | None, party: Party) -> LinkState:
    link = link_of(connection, party)
    if link is not None:
        return LinkState("linked", remote_name=link.remote_name)
    if party.remote_state in ("pending", "failed") and connection is not None:
        existing = same_name(connection, party.name) if party.remote_state == "failed" else None
        return LinkState(party.remote_state, message=party.remote_message, existing=existing)
    return LinkState(None)


def same_name(connection: AccountingConnection, name: str) -> RemoteRecord | None:
    wanted = normalise_name(name)
    if not wanted:
        return None
    first_word = wanted.split()[0]
    for record in db.session.scalars(remote_records(connection, "contact").where(
            RemoteRecord.name.ilike(f"%{first_word}%"))):
        if normalise_name(record.name) == wanted:
            return record
    return None


def remote_records(connection: AccountingConnection, kind: str):
    return select(RemoteRecord).where(
        RemoteRecord.organisation_id == connection.organisation_id, RemoteRecord.provider == connection.provider,
        RemoteRecord.remote_org_id == connection.remote_org_id, RemoteRecord.kind == kind,
        RemoteRecord.archived.is_(False))


def search(connection: AccountingConnection, kind: str, text: str, limit: int = 10) -> list[RemoteRecord]:
    query = remote_records(connection, kind)
    text = (text or "").strip()[:100]
    if text:
        like = f"%{text}%"
        query = query.where(RemoteRecord.name.ilike(like) | RemoteRecord.email.ilike(like)
                            | RemoteRecord.code.ilike(like))
    return db.session.scalars(query.order_by(RemoteRecord.name).limit(limit)).all()


def link(connection: AccountingConnection, record, remote_id: str) -> ExternalLink:
    kind = "contact" if isinstance(record, Party) else "item"
    remote = db.session.scalar(remote_records(connection, kind).where(RemoteRecord.remote_id == remote_id))
    if remote is None:
        raise Rejected("That record is not in the synced list. Press Update accounting data and try again.")
    # one change of a record's link at a time: its row is locked first (PostgreSQL; SQLite
    # writes one transaction at a time anyway), so twin requests queue instead of deadlocking
    db.session.execute(select(type(record).id).where(type(record).id == record.id).with_for_update())
    current = link_of(connection, record)
    if current is not None and current.remote_id == remote.remote_id:
        return current  # linked so already (a double click)
    unlink(connection, record)
    row = ExternalLink(organisation_id=record.organisation_id, provider=connection.provider,
                       remote_org_id=connection.remote_org_id, local_type=local_type(record), local_id=record.id,
                       remote_id=remote.remote_id, remote_name=remote.name if kind == "contact" else
                       f"{remote.code} — {remote.name}")
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:  # linked by a request at the same moment (a double click)
        row = link_of(connection, record)
        if row is None or row.remote_id != remote.remote_id:
            raise Rejected("It was linked to another record a moment ago; this is its link now.") from None
    if isinstance(record, Party):
        record.remote_state, record.remote_message = "linked", None
    db.session.flush()
    return row


def unlink(connection: AccountingConnection, record) -> None:
    existing = link_of(connection, record)
    if existing is not None:
        db.session.delete(existing)
    if isinstance(record, Party):
        record.remote_state, record.remote_message = None, None
    db.session.flush()


__all__ = ["LinkState", "link", "link_of", "search", "state_of", "unlink"]
