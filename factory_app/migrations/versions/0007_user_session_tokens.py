"""users: a session token in every session and remember-me cookie (a new one ends them all)

Existing users get a random token each, so every session from before this revision ends
(their cookies carry no token) and everyone logs in once more.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 21:30:00

"""
import secrets

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_token', sa.String(length=64), nullable=True))

    users = sa.table('users', sa.column('id', sa.Integer), sa.column('session_token', sa.String))
    bind = op.get_bind()
    ids = bind.execute(sa.select(users.c.id)).scalars().all()
    if ids:
        bind.execute(users.update().where(users.c.id == sa.bindparam('user_id'))
                     .values(session_token=sa.bindparam('token')),
                     [{'user_id': user_id, 'token': secrets.token_urlsafe(32)} for user_id in ids])

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('session_token', existing_type=sa.String(length=64), nullable=False)


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_token')
