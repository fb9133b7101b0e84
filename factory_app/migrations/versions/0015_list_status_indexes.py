"""lists at size: a status tab (orders or purchase orders of one status, newest first)
is read along an index of (organisation, status, id), so "Invoiced" walks the invoiced
orders alone instead of every newer order of another status (20,000 of them in the
benchmark's books: 2.9 ms); the index of (organisation, status) it replaces served only
the counts, which the new one serves as well

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 20:20:00

"""
from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

TABLES = ("sales_orders", "purchase_orders")


def upgrade():
    for table in TABLES:
        op.create_index(f"ix_{table}_org_status_id", table, ["organisation_id", "status", "id"], unique=False)
        op.drop_index(f"ix_{table}_org_status", table_name=table)


def downgrade():
    for table in reversed(TABLES):
        op.create_index(f"ix_{table}_org_status", table, ["organisation_id", "status"], unique=False)
        op.drop_index(f"ix_{table}_org_status_id", table_name=table)
