"""the package-neutral core: a run's next page is the adapter's cursor (text, opaque:
Xero's page number, QuickBooks' STARTPOSITION, MYOB's $skip or NextPageLink), None for
the first page; the page numbers of earlier runs are carried over as their text

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 08:30:00

"""
import sqlalchemy as sa
from alembic import op


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("sync_runs") as batch:
        batch.alter_column("next_page", existing_type=sa.Integer(), type_=sa.String(500), nullable=True,
                           postgresql_using="next_page::text")
    # page 1 (and 0, "finished") were the start of the list: no cursor
    op.execute("UPDATE sync_runs SET next_page = NULL WHERE next_page IN ('0', '1')")


def downgrade():
    # a cursor that is not a page number can't be kept by the old release: start over there
    digits = "next_page ~ '^[0-9]+$'" if op.get_bind().dialect.name == "postgresql" \
        else "next_page NOT GLOB '*[^0-9]*' AND next_page != ''"
    op.execute(f"UPDATE sync_runs SET next_page = '1' WHERE next_page IS NULL OR NOT ({digits})")
    with op.batch_alter_table("sync_runs") as batch:
        batch.alter_column("next_page", existing_type=sa.String(500), type_=sa.Integer(), nullable=False,
                           postgresql_using="next_page::integer")
