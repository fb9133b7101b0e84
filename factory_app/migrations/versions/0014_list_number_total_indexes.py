"""lists at size: orders, invoices and purchase orders sorted by number (the id) or by
total are read along an index too, so page 999 of a list walks index entries instead of
every row it skips, and "largest first" doesn't sort the organisation's documents

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 04:30:00

"""
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

INDEXES = [(f"ix_{table}_org_{name}", table, ["organisation_id", *columns])
           for table in ("sales_orders", "invoices", "purchase_orders")
           for name, columns in (("id", ["id"]), ("total_id", ["total", "id"]))]


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade():
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
