"""parties: drop ix_parties_organisation_id (ix_parties_org_kind_name starts with the same column)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 12:30:00

"""
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('parties', schema=None) as batch_op:
        batch_op.drop_index('ix_parties_organisation_id')


def downgrade():
    with op.batch_alter_table('parties', schema=None) as batch_op:
        batch_op.create_index('ix_parties_organisation_id', ['organisation_id'], unique=False)
