"""accounting connections: accounts and tax rates mapped for sales and purchases apart;
the mapping proposed from the package's defaults; whose numbers documents carry

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 22:00:00

The one "tax rate for taxable lines" (and for tax-free lines) was used for sales and
purchases alike: it becomes the sales side's. The purchase side starts empty (carrying
the sales codes over would keep bills' GST on income); the next update proposes it from
the package's defaults for an administrator to confirm.
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('accounting_connections', schema=None) as batch_op:
        batch_op.alter_column('tax_code_taxable', new_column_name='sales_tax_taxable',
                              existing_type=sa.String(length=50), existing_nullable=True)
        batch_op.alter_column('tax_code_free', new_column_name='sales_tax_free',
                              existing_type=sa.String(length=50), existing_nullable=True)
        batch_op.add_column(sa.Column('purchase_tax_taxable', sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column('purchase_tax_free', sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column('mapping_proposed', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('document_numbers', sa.String(length=20), server_default='factory',
                                      nullable=False))
    with op.batch_alter_table('document_pushes', schema=None) as batch_op:
        batch_op.create_index('ix_document_pushes_org_state', ['organisation_id', 'state'], unique=False)
        batch_op.drop_index('ix_document_pushes_organisation_id')  # the new one starts with it


def downgrade():
    with op.batch_alter_table('document_pushes', schema=None) as batch_op:
        batch_op.create_index('ix_document_pushes_organisation_id', ['organisation_id'], unique=False)
        batch_op.drop_index('ix_document_pushes_org_state')
    with op.batch_alter_table('accounting_connections', schema=None) as batch_op:
        batch_op.drop_column('document_numbers')
        batch_op.drop_column('mapping_proposed')
        batch_op.drop_column('purchase_tax_free')
        batch_op.drop_column('purchase_tax_taxable')
        batch_op.alter_column('sales_tax_free', new_column_name='tax_code_free',
                              existing_type=sa.String(length=50), existing_nullable=True)
        batch_op.alter_column('sales_tax_taxable', new_column_name='tax_code_taxable',
                              existing_type=sa.String(length=50), existing_nullable=True)
