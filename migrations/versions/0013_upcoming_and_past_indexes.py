"""partial indexes for the Upcoming and Past tabs

Each of the two big tabs gets an index of only its own consultations in start-time order,
so a page is read off the index (an OFFSET skips index entries, no sort of the whole tab)
and the tab's count is an index-only scan.
Reviewed: indexes only; no rows change.

Revision ID: c5e55105a018
Revises: c5e55105a011
Create Date: 2026-11-29 12:15:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'c5e55105a018'
down_revision = 'c5e55105a011'
branch_labels = None
depends_on = None

LIVE = "status IN ('scheduled', 'pending')"
HELD = "status NOT IN ('cancelled', 'rejected', 'rescheduled')"


def upgrade():
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.create_index(
            'ix_consultations_live_start_time',
            ['start_time', 'id'],
            unique=False,
            postgresql_where=sa.text(LIVE),
            sqlite_where=sa.text(LIVE),
        )
        batch_op.create_index(
            'ix_consultations_held_start_time',
            ['start_time', 'id'],
            unique=False,
            postgresql_where=sa.text(HELD),
            sqlite_where=sa.text(HELD),
        )


def downgrade():
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.drop_index('ix_consultations_held_start_time')
        batch_op.drop_index('ix_consultations_live_start_time')
