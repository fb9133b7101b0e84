"""factory_app.bulk: many rows in, their ids back in order, on SQLite and PostgreSQL."""
from __future__ import annotations

from sqlalchemy import select

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
