"""factory_app.bulk: many rows in, their ids back in order, on SQLite and PostgreSQL."""
from __future__ import annotations

from sqlalchemy import func, select

from factory_app.bulk import insert_with_ids
from factory_app.extensions import db
from factory_app.models import Customer, Party

from . import factories


def test_ids_come_back_in_the_rows_order_and_later_rows_carry_on(app, tenant):
    with app.app_context():
        before = factories.customer(tenant.org_id, "Made Before").id
        names = [f"Bulk customer {n:03d}" for n in range(250)]
        ids = insert_with_ids(Party.__table__, [dict(organisation_id=tenant.org_id, kind="customer", name=name)
                                                for name in names])
        db.session.commit()
        assert len(set(ids)) == 250 and min(ids) > before
        stored = dict(db.session.execute(select(Party.id, Party.name).where(Party.id.in_(ids))).all())
        assert [stored[i] for i in ids] == names
        assert db.session.get(Customer, ids[0]).created_at is not None  # column defaults applied
        after = factories.customer(tenant.org_id, "Made After").id  # the database's own numbering goes on
        assert after > max(ids)
        assert insert_with_ids(Party.__table__, []) == []
        # rows as tuples in the order of the columns named
        more = insert_with_ids(Party.__table__, [(tenant.org_id, "supplier", f"Tuple supplier {n}") for n in range(3)],
                               columns=("organisation_id", "kind", "name"))
        db.session.commit()
        assert more == sorted(more) and min(more) > after
        assert [(p.kind, p.name) for p in map(lambda i: db.session.get(Party, i), more)] == \
            [("supplier", f"Tuple supplier {n}") for n in range(3)]


def _raw(table, ids, columns):
    """The values exactly as the database holds them (no type processing on the way out)."""
    from sqlalchemy import type_coerce
    from sqlalchemy.types import NullType
    rows = db.session.execute(select(table.c.id, *(type_coerce(table.c[c], NullType()).label(c) for c in columns))
                              .where(table.c.id.in_(ids)).order_by(table.c.id)).all()
    return [tuple(row[1:]) for row in rows]


def test_insert_rows_stores_what_sqlalchemy_would_from_dicts_and_from_tuples(app, tenant):
    from datetime import datetime, timezone

    from sqlalchemy import insert

    from factory_app.bulk import insert_rows
    from factory_app.models import ExternalLink
    table = ExternalLink.__table__
    moment = datetime(2026, 11, 29, 9, 30, 15, 123456, tzinfo=timezone.utc)
    row = dict(organisation_id=tenant.org_id, provider="xero", remote_org_id="org-1", local_type="customer",
               remote_name="Tab\there, back\\slash,\nnew line", created_at=moment)
    columns = ["provider", "remote_name", "created_at"]
    with app.app_context():
        db.session.execute(insert(table), [dict(row, local_id=1, remote_id="a")])  # SQLAlchemy's own way
        insert_rows(table, [dict(row, local_id=2, remote_id="b")])
        insert_rows(table, [tuple(dict(row, local_id=3, remote_id="c").values())],
                    columns=list(dict(row, local_id=3, remote_id="c")))
        db.session.commit()
        ids = list(db.session.scalars(select(table.c.id).where(table.c.organisation_id == tenant.org_id)
                                      .order_by(table.c.local_id)))
        assert len(ids) == 3
        ours, theirs = _raw(table, ids[1:], columns), _raw(table, ids[:1], columns)
        assert ours == theirs * 2  # same text for the datetime, same escaping, on either database
        links = [db.session.get(ExternalLink, i) for i in ids]
        assert {link.created_at for link in links} == {moment} and links[2].remote_id == "c"


def test_insert_rows_fills_defaults_once_per_batch(app, tenant):
    from factory_app.bulk import insert_rows
    from factory_app.models import Supplier
    with app.app_context():
        insert_rows(Party.__table__, [(tenant.org_id, "supplier", f"Batch supplier {n}") for n in range(3)],
                    columns=("organisation_id", "kind", "name"))
        db.session.commit()
        made = list(db.session.scalars(select(Supplier).where(Supplier.name.like("Batch supplier %"))))
        assert len(made) == 3
        assert {s.archived for s in made} == {False} and len({s.created_at for s in made}) == 1
        assert made[0].created_at.tzinfo is not None


def test_among_finds_what_in_finds_for_a_long_list(app, tenant):
    from factory_app.bulk import among
    with app.app_context():
        ids = insert_with_ids(Party.__table__, [dict(organisation_id=tenant.org_id, kind="customer",
                                                     name=f"Among {n:04d}") for n in range(1200)])
        wanted = ids[::3] + [10**9]  # a long list, one id that isn't there
        found = set(db.session.scalars(select(Party.id).where(among(Party.id, wanted))))
        assert found == set(ids[::3]) == set(db.session.scalars(select(Party.id).where(Party.id.in_(wanted))))
        names = set(db.session.scalars(select(Party.name).where(among(Party.name, ["Among 0001", "Among 0002"]))))
        assert names == {"Among 0001", "Among 0002"}
        db.session.rollback()


def test_insert_rows_refuses_a_default_it_cannot_take_once(app):
    import pytest
    from sqlalchemy import Column, DateTime, Integer, MetaData, Table

    from factory_app.bulk import insert_rows
    table = Table("not_in_the_schema", MetaData(), Column("id", Integer, primary_key=True),
                  Column("at", DateTime, default=func.now()))
    with app.app_context():
        with pytest.raises(ValueError, match="SQL expression"):
            insert_rows(table, [{"id": 1}])
        db.session.rollback()



def test_raw_rows_gives_the_rows_a_select_gives_as_plain_tuples(app, tenant):
    from sqlalchemy import type_coerce
    from sqlalchemy.types import NullType

    from factory_app.bulk import among, as_stored, raw_rows
    with app.app_context():
        ids = insert_with_ids(Party.__table__, [dict(organisation_id=tenant.org_id, kind="customer",
                                                     name=f"Raw {n:04d}") for n in range(1100)])
        db.session.commit()
        created = type_coerce(Party.created_at, NullType())
        query = (select(Party.id, Party.name, created).where(among(Party.id, ids[::2]), Party.organisation_id == tenant.org_id)
                 .order_by(Party.id))
        rows = raw_rows(query)
        assert rows == [tuple(row) for row in db.session.execute(query).all()]
        assert len(rows) == 550 and all(type(row) is tuple for row in rows)
        # raw values compare with as_stored: what the ORM reads back, as the database keeps it
        stored = as_stored(Party.__table__.c.created_at, db.session.get_bind().dialect)
        assert rows[0][2] == stored(db.session.get(Party, ids[0]).created_at)



def test_a_redoable_commit_relaxes_only_its_own_transaction(app, tenant):
    from sqlalchemy import event, text

    from factory_app.bulk import commit_redoable
    with app.app_context():
        postgres = db.session.get_bind().dialect.name == "postgresql"
        statements = []
        engine = db.engine

        def seen(conn, cursor, statement, *args):
            statements.append(statement)
        event.listen(engine, "before_cursor_execute", seen)
        try:
            factories.customer(tenant.org_id, "Before the redoable commit")
            db.session.add(Party(organisation_id=tenant.org_id, kind="customer", name="Stored redoably"))
            commit_redoable(db.session)
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        assert db.session.scalar(select(func.count()).select_from(Party).where(Party.name == "Stored redoably")) == 1
        assert any("synchronous_commit" in s for s in statements) == postgres
        if postgres:  # set for that transaction only: the pooled connection's next one waits for the disk again
            assert db.session.scalar(text("SHOW synchronous_commit")) == "on"
            db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))
            assert db.session.scalar(text("SHOW synchronous_commit")) == "off"
            db.session.rollback()
