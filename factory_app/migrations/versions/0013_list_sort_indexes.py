"""lists at size: the date indexes carry the id too, so a list sorted by date (ties by id)
is read in index order, page 1 or page 999, without sorting every row of the organisation

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 03:00:00

"""
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

INDEXES = [  # (old, new, table, new columns)
    ("ix_sales_orders_org_date", "ix_sales_orders_org_date_id", "sales_orders", ["organisation_id", "order_date", "id"]),
    ("ix_purchase_orders_org_date", "ix_purchase_orders_org_date_id", "purchase_orders",
     ["organisation_id", "order_date", "id"]),
    ("ix_invoices_org_issue_date", "ix_invoices_org_issue_date_id", "invoices", ["organisation_id", "issue_date", "id"]),
]


def upgrade():
    for old, new, table, columns in INDEXES:
        op.create_index(new, table, columns, unique=False)
        op.drop_index(old, table_name=table)


def downgrade():
    for old, new, table, columns in reversed(INDEXES):
        op.create_index(old, table, columns[:2], unique=False)
        op.drop_index(new, table_name=table)
