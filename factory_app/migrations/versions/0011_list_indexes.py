"""lists at size: indexes for filtering by status and sorting by date within an organisation

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 01:00:00

"""
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_sales_orders_org_status", "sales_orders", ["organisation_id", "status"]),
    ("ix_sales_orders_org_date", "sales_orders", ["organisation_id", "order_date"]),
    ("ix_purchase_orders_org_status", "purchase_orders", ["organisation_id", "status"]),
    ("ix_purchase_orders_org_date", "purchase_orders", ["organisation_id", "order_date"]),
    ("ix_invoices_org_issue_date", "invoices", ["organisation_id", "issue_date"]),
]


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade():
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
