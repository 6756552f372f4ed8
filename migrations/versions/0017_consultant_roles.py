"""consultants have a role: admin or consultant

An admin does everything a consultant does and manages the team. Every consultant so far
could do everything there was; the one who has been here longest becomes the clinic's
admin, so that someone can manage the team without a shell, and the others stay
consultants (an admin, or `flask consultants create --admin`, can change that).
Reviewed: one NOT NULL column with a server default (no table rebuild on SQLite), one
UPDATE of existing rows.

Revision ID: c5e55105a023
Revises: c5e55105a022
Create Date: 2026-12-06 04:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'c5e55105a023'
down_revision = 'c5e55105a022'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'consultants',
        sa.Column('role', sa.String(length=20), server_default='consultant', nullable=False),
    )
    op.execute(
        "UPDATE consultants SET role = 'admin'"
        " WHERE id = (SELECT min(id) FROM consultants)"
    )


def downgrade():
    # SQLite drops the column in place (3.35+).
    op.execute('ALTER TABLE consultants DROP COLUMN role')
