"""consultant session version

A session cookie stays valid until it expires, so logging out did not end a copied one.
Each consultant now carries a version that the session must match; logging out and a
new password raise it. Reviewed: one additive column; existing consultants start at 0,
so sessions opened before this release end once and their holders log in again.

Revision ID: c5e55105a001
Revises: c5e55105a003
Create Date: 2026-11-29 10:16:48.346337

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c5e55105a001'
down_revision = 'c5e55105a003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('consultants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('consultants', schema=None) as batch_op:
        batch_op.drop_column('session_version')
