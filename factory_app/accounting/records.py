"""The synced lists: what Factory keeps of the package's contacts, items, accounts and
tax rates (RemoteRecord rows, scoped to the connected organisation and package), which
the link controls search and the mapping offers. Stored a page at a time with Core
statements, compared as plain values; a record changes only when its values do.
"""
from __future__ import annotations

import json

from sqlalchemy import bindparam, delete, insert, select, type_coerce, update
from sqlalchemy.types import NullType

from ..bulk import among, as_stored, raw_rows
from ..extensions import db
from ..models import AccountingConnection, RemoteRecord
from .base import RemoteContact
from .text import clean


def contact_json(contact: RemoteContact) -> str:
    return json.dumps({**vars(contact), "addresses": [vars(a) for a in contact.addresses],
                       "people": [vars(p) for p in contact.people]}, default=str)


def remember_contacts(connection: AccountingConnection, contacts: list[RemoteContact],
                       stamps: dict[str, object] | None = None) -> set[str]:
    """Keep the synced list of remote contacts (what the link control searches); returns
    the ids of those that are new or changed. The package stamps every change, so a
    contact whose change time is the one stored is unchanged: only the stamps are
    compared (`stamps`: all of them, loaded once by `contact_stamps` and kept current
    here; else the page's are read), and rows with their JSON are made for the others."""
    table = RemoteRecord.__table__
    if stamps is None:
        stamps = contact_stamps(connection, [c.remote_id for c in contacts])
    stored = as_stored(table.c.remote_updated_at, db.session.get_bind().dialect)
    fresh = [c for c in contacts if c.updated_at is None or stamps.get(c.remote_id) != stored(c.updated_at)]
    if not fresh:
        return set()
    changed = upsert_records(connection, "contact", [
        dict(remote_id=c.remote_id, code=None, name=clean(c.name, 255) or "(no name)", email=clean(c.email, 255),
             is_customer=c.is_customer, is_supplier=c.is_supplier, archived=c.archived,
             data=contact_json(c), remote_updated_at=c.updated_at)
        for c in fresh])
    stamps.update((c.remote_id, stored(c.updated_at) if c.updated_at else None) for c in fresh)
    return changed


def contact_stamps(connection: AccountingConnection, remote_ids: list[str] | None = None) -> dict[str, object]:
    """remote id -> the stored change time of the synced contacts (those given, or all),
    as the database keeps it (not turned into datetimes: thousands of them per page)."""
    table = RemoteRecord.__table__
    query = select(table.c.remote_id, type_coerce(table.c.remote_updated_at, NullType())).where(
        *records_scope(connection, "contact"))
    if remote_ids is not None:
        query = query.where(among(table.c.remote_id, remote_ids))
    return dict(raw_rows(query))


def records_scope(connection: AccountingConnection, kind: str) -> tuple:
    table = RemoteRecord.__table__
    return (table.c.organisation_id == connection.organisation_id, table.c.provider == connection.provider,
            table.c.remote_org_id == connection.remote_org_id, table.c.kind == kind)


def upsert_records(connection: AccountingConnection, kind: str, rows: list[dict], replace: bool = False,
                    keep: set[str] = frozenset()) -> set[str]:
    """Store a page of the package's list of `kind` (Core statements, compared as plain
    values: one SELECT, then one INSERT and one UPDATE for whatever is new or different).
    Returns the remote ids that are new or changed. replace: the page is the whole list,
    what it doesn't hold is deleted (except the remote ids in `keep`)."""
    table = RemoteRecord.__table__
    fields = [field for field in rows[0] if field != "remote_id"] if rows else []  # every row names the same
    query = select(table.c.id, table.c.remote_id, *(table.c[f] for f in fields)).where(*records_scope(connection, kind))
    if not replace:
        query = query.where(among(table.c.remote_id, [row["remote_id"] for row in rows]))
    existing = {r.remote_id: r for r in db.session.execute(query)}
    changed: set[str] = set()
    new, updates = [], []
    for row in rows:
        record = existing.pop(row["remote_id"], None)
        if record is None:
            new.append(dict(organisation_id=connection.organisation_id, provider=connection.provider,
                            remote_org_id=connection.remote_org_id, kind=kind, **row))
            changed.add(row["remote_id"])
        elif any(getattr(record, f) != row[f] for f in fields):
            updates.append({"record_id": record.id, **{f: row[f] for f in fields}})
            changed.add(row["remote_id"])
    if new:
        db.session.execute(insert(table), new)
    if updates:
        db.session.execute(update(table).where(table.c.id == bindparam("record_id")), updates)
    gone = [r.id for remote_id, r in existing.items() if remote_id not in keep] if replace else []
    if gone:
        db.session.execute(delete(table).where(table.c.id.in_(gone)))
    return changed
