"""The migrations build exactly the schema the models describe."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from factory_app.extensions import db
from factory_app.models import described_by_models


def test_migrated_schema_matches_models(app):
    with app.app_context():
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": False, "include_name": described_by_models})
            diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_single_head(app):
    from alembic.script import ScriptDirectory
    from flask import current_app
    with app.app_context():
        config = current_app.extensions["migrate"].migrate.get_config()
        assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_searches_are_trigram_indexed_on_postgresql(app):
    """The lists' and pickers' contains-searches have trigram indexes on PostgreSQL
    (migration 0012), and SQLite has none of them (nor needs the extension)."""
    from sqlalchemy import inspect
    with app.app_context():
        names = {ix["name"] for ix in inspect(db.engine).get_indexes("parties")}
        trigram = {n for n in names if n.startswith("ix_trgm_")}
        if db.engine.dialect.name == "postgresql":
            assert trigram == {"ix_trgm_parties_name", "ix_trgm_parties_email", "ix_trgm_parties_phone"}
        else:
            assert trigram == set()


def test_the_connections_bookmarks_are_carried_into_their_json_and_back(app, tenant):
    """Migration 0016 on a database of the release before it: a connection's contacts
    and items bookmarks become its `bookmarks` JSON (read back by bookmark()), and a
    downgrade puts them back in their columns."""
    from datetime import datetime, timezone

    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from factory_app.models import AccountingConnection
    contacts, items = datetime(2026, 11, 30, 22, 15, 7, tzinfo=timezone.utc), datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)
    with app.app_context():
        db.session.remove()
        downgrade(revision="0015")
        try:
            with db.engine.begin() as conn:
                conn.execute(text(
                    "INSERT INTO accounting_connections (organisation_id, provider, status, remote_org_id, remote_org_name,"
                    " connected_at, updated_at, contacts_bookmark, items_bookmark, send_invoices, send_purchases,"
                    " approve_documents, document_numbers) VALUES (:org, 'xero', 'active', 't1', 'Harbour', :now, :now,"
                    " :contacts, :items, false, false, false, 'factory')"),
                    {"org": tenant.org_id, "now": contacts, "contacts": contacts, "items": items})
            upgrade()
            connection = db.session.scalar(db.select(AccountingConnection))
            assert connection.bookmarks == {"contacts": contacts.isoformat(), "items": items.isoformat()}
            assert (connection.bookmark("contacts"), connection.bookmark("items")) == (contacts, items)
            assert connection.package_data == {}
            db.session.remove()
            downgrade(revision="0015")
            with db.engine.connect() as conn:
                back = conn.execute(text("SELECT contacts_bookmark, items_bookmark FROM accounting_connections")).one()
            assert [v if isinstance(v, datetime) else datetime.fromisoformat(v) for v in back] in (
                [contacts, items], [contacts.replace(tzinfo=None), items.replace(tzinfo=None)])
        finally:
            db.session.remove()
            upgrade()


def test_a_bookmark_is_kept_per_list_in_utc():
    from datetime import datetime, timedelta, timezone

    from factory_app.models import AccountingConnection
    connection = AccountingConnection(bookmarks={})
    melbourne = timezone(timedelta(hours=11))
    connection.set_bookmark("customers", datetime(2026, 12, 2, 9, 30, tzinfo=melbourne))
    connection.set_bookmark("vendors", datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc))
    assert connection.bookmarks == {"customers": "2026-12-01T22:30:00+00:00", "vendors": "2026-12-01T08:00:00+00:00"}
    assert connection.bookmark("customers") == datetime(2026, 12, 1, 22, 30, tzinfo=timezone.utc)
    connection.set_bookmark("vendors", None)
    assert connection.bookmark("vendors") is None and connection.bookmark("items") is None


def test_a_runs_page_number_becomes_its_cursor_and_back(app, tenant):
    """Migration 0018 on a database of the release before it: a run's next page (a
    number) becomes the adapter's cursor (its text; page 1 and 0, the list's start, no
    cursor), and a downgrade turns cursors that are numbers back into them (others: 1)."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from factory_app.models import SyncRun
    with app.app_context():
        db.session.remove()
        downgrade(revision="0017")
        try:
            with db.engine.begin() as conn:
                for kind, page in (("import_customers", 3), ("import_suppliers", 1), ("sync", 0)):
                    conn.execute(text(
                        "INSERT INTO sync_runs (organisation_id, kind, status, next_page, pages_done, seen, created,"
                        " updated, linked, review, skipped, failed, created_at) VALUES (:org, :kind, 'running', :page,"
                        " 2, 200, 0, 0, 0, 0, 0, 0, CURRENT_TIMESTAMP)"), {"org": tenant.org_id, "kind": kind, "page": page})
            upgrade()
            runs = {r.kind: r for r in db.session.scalars(db.select(SyncRun))}
            assert {k: r.next_page for k, r in runs.items()} == {
                "import_customers": "3", "import_suppliers": None, "sync": None}
            runs["sync"].next_page = "skip=400&top=1000"  # another package's cursor
            db.session.commit()
            db.session.remove()
            downgrade(revision="0017")
            with db.engine.connect() as conn:
                back = dict(conn.execute(text("SELECT kind, next_page FROM sync_runs")).all())
            assert back == {"import_customers": 3, "import_suppliers": 1, "sync": 1}
        finally:
            db.session.remove()
            with db.engine.begin() as conn:
                conn.execute(text("DELETE FROM sync_runs"))
            upgrade()
