"""the outbox: each push names the job that will send it and when; a connection says
since when the package has not answered

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 23:30:00

"""
from alembic import op
import sqlalchemy as sa
import factory_app.models.types


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('document_pushes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('job_id', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('next_attempt_at', factory_app.models.types.UTCDateTime(), nullable=True))
    with op.batch_alter_table('accounting_connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unreachable_since', factory_app.models.types.UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('accounting_connections', schema=None) as batch_op:
        batch_op.drop_column('unreachable_since')
    with op.batch_alter_table('document_pushes', schema=None) as batch_op:
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('job_id')
