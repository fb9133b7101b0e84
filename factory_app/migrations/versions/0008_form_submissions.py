"""form submissions: one effect per form, however often it is sent

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 21:00:00

"""
from alembic import op
import sqlalchemy as sa
import factory_app.models.types


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'form_submissions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('result_url', sa.String(length=500), nullable=True),
        sa.Column('created_at', factory_app.models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_form_submissions_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_form_submissions')),
        sa.UniqueConstraint('token', name=op.f('uq_form_submissions_token')),
    )
    op.create_index('ix_form_submissions_user_created', 'form_submissions', ['user_id', 'created_at'], unique=False)


def downgrade():
    op.drop_index('ix_form_submissions_user_created', table_name='form_submissions')
    op.drop_table('form_submissions')
