"""index consultations by status and start time

The dashboard's Upcoming, Past and Cancelled tabs filter on status with a time range;
measured with bench/dashboard.py at 100,000 patients. Reviewed: one index, nothing else.

Revision ID: a06810799689
Revises: 0a1eb3d06ae2
Create Date: 2026-11-25 07:05:59.442725

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a06810799689'
down_revision = '0a1eb3d06ae2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.create_index('ix_consultations_status_start_time', ['status', 'start_time'], unique=False)



def downgrade():
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.drop_index('ix_consultations_status_start_time')

