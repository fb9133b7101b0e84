"""document pushes: when a create request went out without a known outcome

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 07:00:00

"""
from alembic import op
import sqlalchemy as sa
import factory_app.models.types


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('document_pushes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unconfirmed_since', factory_app.models.types.UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('document_pushes', schema=None) as batch_op:
        batch_op.drop_column('unconfirmed_since')
