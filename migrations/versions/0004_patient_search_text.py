"""patient search text

The dashboard searched with lower(name) LIKE ..., which SQLite folds for ASCII letters
only and which runs a function over every patient. Each profile now carries its name,
email and phone digits already folded in Python; existing profiles are filled here.
Reviewed: additive, with a backfill that uses the same function as the app.

Revision ID: bf23967a2057
Revises: a06810799689
Create Date: 2026-11-25 07:10:22.920349

"""
from alembic import op
import sqlalchemy as sa

from webapp.dashboard.search import search_text_for

# revision identifiers, used by Alembic.
revision = 'bf23967a2057'
down_revision = 'a06810799689'
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade():
    with op.batch_alter_table('patient_profiles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_text', sa.Text(), server_default='', nullable=False))

    profiles = sa.table(
        'patient_profiles',
        sa.column('id', sa.Integer),
        sa.column('name', sa.String),
        sa.column('email', sa.String),
        sa.column('phone', sa.String),
        sa.column('search_text', sa.Text),
    )
    connection = op.get_bind()
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(profiles.c.id, profiles.c.name, profiles.c.email, profiles.c.phone)
            .where(profiles.c.id > last_id)
            .order_by(profiles.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        for row in rows:
            connection.execute(
                profiles.update()
                .where(profiles.c.id == row.id)
                .values(search_text=search_text_for(row.name, row.email, row.phone))
            )
        last_id = rows[-1].id


def downgrade():
    with op.batch_alter_table('patient_profiles', schema=None) as batch_op:
        batch_op.drop_column('search_text')
