"""Many rows into one table, fast, with their new ids in order.

A multi-row INSERT ... RETURNING that keeps the rows' order is what SQLAlchemy offers,
but SQLite then sends one statement per row, and on PostgreSQL the giant statements
cost more to prepare than the rows cost to store. So the ids are settled first (or
read back) the way each database makes safe, and the rows go in with one executemany.
"""
from __future__ import annotations

from sqlalchemy import Table, func, insert, select, text

from .extensions import db


def insert_with_ids(table: Table, rows: list[dict]) -> list[int]:
    """Insert `rows` (dicts of column values) into `table`, whose primary key is an
    integer `id` the database assigns; returns the new ids in the order of `rows`."""
    if not rows:
        return []
    session = db.session
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # the ids come from the column's own sequence, as a default would take them
        sequence = session.scalar(select(func.pg_get_serial_sequence(table.name, "id")))
        ids = list(session.scalars(select(func.nextval(sequence)).select_from(func.generate_series(1, len(rows)))))
        session.execute(insert(table), [dict(row, id=new_id) for row, new_id in zip(rows, ids)])
        return ids
    if dialect == "sqlite":
        # SQLite gives each new row the largest rowid + 1, and from a transaction's first
        # write until its commit no other connection can write: rows inserted one after
        # the other in this transaction have consecutive ids, ending at last_insert_rowid()
        session.execute(insert(table), rows)
        last = session.scalar(text("SELECT last_insert_rowid()"))
        ids = list(range(last - len(rows) + 1, last + 1))
        if session.scalar(select(func.count()).select_from(table).where(table.c.id.between(ids[0], ids[-1]))) \
                != len(rows):  # pragma: no cover - guards the reasoning above
            raise RuntimeError(f"{table.name}: the new rows' ids are not consecutive")
        return ids
    return list(session.scalars(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows))
