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
