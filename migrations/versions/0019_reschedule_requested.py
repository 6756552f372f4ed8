"""consultations remember when Cal.com asked the patient for a new time

A consultant may ask a patient to reschedule (Cal.com cancels the booking and emails a
link); the booking reads "Reschedule requested" until the patient's new booking replaces
it. Existing rows never had such a request: the column starts empty.
Reviewed: one nullable column, no table rebuild on SQLite, no existing row touched.

Revision ID: d23000000001
Revises: d21000000001
Create Date: 2026-12-06 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'd23000000001'
down_revision = 'd21000000001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reschedule_requested_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.drop_column('reschedule_requested_at')
