"""searching at size on PostgreSQL: trigram indexes for the lists' and pickers' "contains"
searches (name, email, phone; code; number, reference), so that typing three letters
doesn't read every customer. PostgreSQL only (pg_trgm, a trusted extension since 13); on
SQLite, and where the extension can't be had, the searches work unindexed as before.
The models don't describe these indexes (models.UNMODELLED_INDEX_PREFIX).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 02:00:00

"""
import logging

from alembic import op
import sqlalchemy as sa

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
COLUMNS = [("parties", "name"), ("parties", "email"), ("parties", "phone"), ("products", "sku"),
           ("products", "name"), ("sales_orders", "number"), ("sales_orders", "reference"),
           ("invoices", "number"), ("invoices", "reference"), ("purchase_orders", "number"),
           ("purchase_orders", "reference")]


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as exc:
        log.warning("pg_trgm is not available (%s): searches stay unindexed", exc.orig)
        return
    for table, column in COLUMNS:
        bind.execute(sa.text(f"CREATE INDEX IF NOT EXISTS ix_trgm_{table}_{column} ON {table} "
                             f"USING gin ({column} gin_trgm_ops)"))


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        bind.execute(sa.text(f"DROP INDEX IF EXISTS ix_trgm_{table}_{column}"))
