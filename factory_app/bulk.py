"""Many rows into one table, fast (the contacts import: tens of thousands of rows).

SQLAlchemy's executemany prepares every row's parameters in Python (defaults, type
processing, a dict per row): at 10,000 contacts that was a third of the import's own
time. Here the table's Python-side defaults are taken once per batch, each column's
type processor is applied once per value, and the rows go to the driver as plain
tuples: one executemany on SQLite, COPY on PostgreSQL (psycopg's executemany costs
~30 µs a row even pipelined; COPY a few). New ids, where needed, are settled the way
each database makes safe, without one statement (or one giant statement) per row.
"""
from __future__ import annotations

import gc
import re
from contextlib import contextmanager
from operator import itemgetter
from typing import Sequence

from sqlalchemy import ColumnElement, Table, any_, bindparam, func, insert, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.schema import ColumnDefault

from .extensions import db


def insert_rows(table: Table, rows: Sequence[dict] | Sequence[tuple], columns: Sequence[str] | None = None) -> None:
    """Insert `rows` into `table`: dicts that all name the same columns, or tuples in the
    order of `columns`. Columns they leave out get their Python-side default (a callable
    one is called once for the batch, so the rows share one `created_at`) or the
    database's."""
    if not rows:
        return
    connection = db.session.connection()
    dialect = connection.dialect
    given = list(columns) if columns is not None else list(rows[0])
    defaults = {}
    for column in table.columns:
        if column.key in given or not isinstance(column.default, ColumnDefault):
            continue
        default = column.default
        if default.is_scalar:
            defaults[column.key] = default.arg
        elif default.is_callable:
            try:  # SQLAlchemy wraps a plain callable to take (and ignore) the statement's context
                defaults[column.key] = default.arg(None)
            except (AttributeError, TypeError) as exc:
                raise ValueError(f"{table.name}.{column.key}: its default needs the statement; give a value") from exc
        else:  # a SQL expression: it would need the statement itself
            raise ValueError(f"{table.name}.{column.key}: its default is a SQL expression; give a value")
    keys = given + list(defaults)
    processors = [bind_processor(table.c[key], dialect) for key in keys]
    extra = tuple(value if process is None else process(value)
                  for value, process in zip(defaults.values(), processors[len(given):]))
    if columns is not None:
        values = rows
    elif len(given) > 1:
        pick = itemgetter(*given)
        values = [pick(row) for row in rows]
    else:
        values = [(row[given[0]],) for row in rows]
    if any(processors[:len(given)]):
        values = [tuple(value if process is None else process(value) for value, process in zip(row, processors))
                  for row in values]
    if extra:
        values = [tuple(row) + extra for row in values]
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        # binary COPY: the server need not parse text (10-15 % of the COPY's time); the
        # column types, as the table declares them, tell psycopg how to send each value
        names = ", ".join(dialect.identifier_preparer.quote(key) for key in keys)
        types = [re.sub(r"\(.*\)", "", table.c[key].type.compile(dialect)).strip().lower() for key in keys]
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            with cursor.copy(f"COPY {dialect.identifier_preparer.format_table(table)} ({names}) "
                             "FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(types)
                for row in values:
                    copy.write_row(row)
        finally:
            cursor.close()
        return
    compiled = insert(table).compile(dialect=dialect, column_keys=keys)
    if compiled.positional:
        order = [keys.index(name) for name in compiled.positiontup]
        params = values if order == list(range(len(keys))) else [tuple(row[i] for i in order) for row in values]
    else:
        params = [dict(zip(keys, row)) for row in values]
    connection.exec_driver_sql(compiled.string, params)


def raw_rows(statement) -> list[tuple]:
    """The rows of a SELECT as the driver gives them: plain tuples, without SQLAlchemy's
    Row objects and result processing (for loading a whole synced list at once: tens of
    thousands of rows). Select raw values (`type_coerce(column, NullType())`) and
    compare them with `as_stored`. The statement's parameters are processed as usual."""
    result = db.session.connection().execute(statement)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def among(column, values) -> ColumnElement[bool]:
    """`column IN (values)` for a long list (a page's 1,000 ids): on PostgreSQL one array
    parameter (`= ANY(...)`), so that neither SQLAlchemy nor psycopg handles a thousand
    placeholders per statement; elsewhere the usual expanding IN."""
    values = list(values)
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def bind_processor(column, dialect):
    """What SQLAlchemy does to a value of `column` before the driver gets it (None: nothing)."""
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def as_stored(column, dialect):
    """A function giving a value of `column` as the driver hands it back when the column
    is selected raw (`type_coerce(column, NullType())`): comparing in that form skips
    turning thousands of stored values back into Python objects (on SQLite, parsing
    every datetime's text)."""
    process = bind_processor(column, dialect)
    return (lambda value: value) if process is None else process


def insert_with_ids(table: Table, rows: Sequence[dict] | Sequence[tuple], columns: Sequence[str] | None = None) -> list[int]:
    """Insert `rows` into `table` (as insert_rows takes them: dicts that all name the same
    columns, or tuples in the order of `columns`), whose primary key is an integer `id`
    the database assigns; returns the new ids in the order of `rows`."""
    if not rows:
        return []
    session = db.session
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # the ids come from the column's own sequence, as a default would take them
        sequence = _serial_sequence(session, table)
        ids = session.scalar(select(func.array_agg(func.nextval(sequence)))  # one row: an array of them
                             .select_from(func.generate_series(1, len(rows))))
        if columns is None:
            insert_rows(table, [dict(row, id=new_id) for row, new_id in zip(rows, ids)])
        else:
            insert_rows(table, [(new_id, *row) for new_id, row in zip(ids, rows)], columns=("id", *columns))
        return ids
    if dialect == "sqlite":
        # SQLite gives each new row the largest rowid + 1, and from a transaction's first
        # write until its commit no other connection can write: rows inserted one after
        # the other in this transaction have consecutive ids, ending at last_insert_rowid()
        insert_rows(table, rows, columns)
        last = session.scalar(text("SELECT last_insert_rowid()"))
        ids = list(range(last - len(rows) + 1, last + 1))
        if session.scalar(select(func.count()).select_from(table).where(table.c.id.between(ids[0], ids[-1]))) \
                != len(rows):  # pragma: no cover - guards the reasoning above
            raise RuntimeError(f"{table.name}: the new rows' ids are not consecutive")
        return ids
    if columns is not None:
        rows = [dict(zip(columns, row)) for row in rows]
    return list(session.scalars(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows))


_SEQUENCES: dict[tuple[str, str], str] = {}


def _serial_sequence(session, table: Table) -> str:
    """The sequence behind `table.id` (the schema fixes it: asked once per database)."""
    key = (session.get_bind().url.render_as_string(hide_password=True), table.name)
    if key not in _SEQUENCES:
        _SEQUENCES[key] = session.scalar(select(func.pg_get_serial_sequence(table.name, "id")))
    return _SEQUENCES[key]


@contextmanager
def gc_frozen():
    """While a bulk job stores its pages, the cyclic garbage collector leaves alone what
    existed when it started (the app, the ORM's mappers, the run's maps): a full
    collection walked that whole heap and, at 10,000 contacts, ran several times per
    import, 0.3-0.4 s in all. What the pages make is still collected as usual, so memory
    follows the page, not the run. Everything is handed back to the collector after."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextmanager
def loaded_across_commits(session):
    """A bulk job that commits page by page keeps what it loaded: by default every commit
    expires every loaded object, and the next touch of each reloads it, one query per
    object (the run and its connection on every page; every matched record). Within,
    the job sees its own changes and not others' made meanwhile: read again (refresh)
    what another process may have changed before relying on it."""
    previous = session.expire_on_commit
    session.expire_on_commit = False
    try:
        yield session
    finally:
        session.expire_on_commit = previous


def commit_redoable(session) -> None:
    """Commit a step of bulk work that is redone from its last stored step after a crash
    (an import page: its records and the run's "next page" travel in one transaction).
    On PostgreSQL the commit then doesn't wait for the disk (synchronous_commit off, for
    this transaction only): a crash of the database server may lose the last few such
    commits, never part of one, and the work goes on from before them. The next ordinary
    commit on the server (the run's "done") waits for all of them."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))
    session.commit()
