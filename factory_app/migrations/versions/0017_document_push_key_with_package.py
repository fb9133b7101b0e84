"""the package-neutral core: a document's push is unique per remote organisation of each
package (organisation, type, document, package, remote organisation): two packages'
organisation ids are never compared as one

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 21:05:00

"""
from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

OLD = ["organisation_id", "doc_type", "doc_id", "remote_org_id"]
NEW = ["organisation_id", "doc_type", "doc_id", "provider", "remote_org_id"]


def _name(columns) -> str:
    return op.f("uq_document_pushes_" + "_".join(columns))  # the naming convention's, cut as each database cuts it


def upgrade():
    with op.batch_alter_table("document_pushes") as batch:
        batch.drop_constraint(_name(OLD), type_="unique")
        batch.create_unique_constraint(_name(NEW), NEW)


def downgrade():
    with op.batch_alter_table("document_pushes") as batch:
        batch.drop_constraint(_name(NEW), type_="unique")
        batch.create_unique_constraint(_name(OLD), OLD)
