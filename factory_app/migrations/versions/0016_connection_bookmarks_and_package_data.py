"""the package-neutral core: a connection keeps one bookmark per list it reads, as JSON
({"contacts": ISO time, "items": ISO time}; a package that keeps customers and suppliers
apart reads two lists), instead of one column per Xero list, and the data a package needs
of the connection beyond the remote organisation's id (package_data, handed to the
adapter in every call). The bookmarks a connection had are carried over, and back on a
downgrade.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 21:00:00

"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

STREAMS = (("contacts", "contacts_bookmark"), ("items", "items_bookmark"))


def _table(*columns):
    return sa.table("accounting_connections", sa.column("id", sa.Integer()), *columns)


def _iso(moment: datetime) -> str:
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc).isoformat()


def upgrade():
    with op.batch_alter_table("accounting_connections") as batch:
        batch.add_column(sa.Column("bookmarks", sa.JSON(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("package_data", sa.JSON(), nullable=False, server_default="{}"))
    old = _table(*(sa.column(column, sa.DateTime(timezone=True)) for _, column in STREAMS), sa.column("bookmarks", sa.JSON()))
    bind = op.get_bind()
    for row in bind.execute(sa.select(old.c.id, *(old.c[column] for _, column in STREAMS))).all():
        marks = {stream: _iso(row._mapping[column]) for stream, column in STREAMS if row._mapping[column] is not None}
        if marks:
            bind.execute(old.update().where(old.c.id == row.id).values(bookmarks=marks))
    with op.batch_alter_table("accounting_connections") as batch:
        for _, column in STREAMS:
            batch.drop_column(column)


def downgrade():
    with op.batch_alter_table("accounting_connections") as batch:
        for _, column in STREAMS:
            batch.add_column(sa.Column(column, sa.DateTime(timezone=True), nullable=True))
    new = _table(*(sa.column(column, sa.DateTime(timezone=True)) for _, column in STREAMS), sa.column("bookmarks", sa.JSON()))
    bind = op.get_bind()
    for row in bind.execute(sa.select(new.c.id, new.c.bookmarks)).all():
        marks = row.bookmarks or {}
        values = {column: datetime.fromisoformat(marks[stream]) for stream, column in STREAMS if marks.get(stream)}
        if values:
            bind.execute(new.update().where(new.c.id == row.id).values(**values))
    with op.batch_alter_table("accounting_connections") as batch:
        batch.drop_column("package_data")
        batch.drop_column("bookmarks")
