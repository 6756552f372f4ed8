"""folded search text and its trigram index

The dashboard's search now folds accents and case ("muller" finds Müller) and looks in the
city and country too: every profile's search_text is computed again, in batches, with the
same function the app uses. On PostgreSQL a GIN trigram index (pg_trgm) answers the
search's LIKE '%...%' without reading every patient; SQLite keeps scanning.
Reviewed: no column changes; the backfill only rewrites a derived column.

Revision ID: c5e55105a011
Revises: c5e55105a015
Create Date: 2026-11-29 11:20:00.000000

"""
from alembic import op
import sqlalchemy as sa

from webapp.dashboard.search import search_text_for

# revision identifiers, used by Alembic.
revision = 'c5e55105a011'
down_revision = 'c5e55105a015'
branch_labels = None
depends_on = None

BATCH = 1000
INDEX = 'ix_patient_profiles_search_text_trgm'


def upgrade():
    profiles = sa.table(
        'patient_profiles',
        sa.column('id', sa.Integer),
        sa.column('name', sa.String),
        sa.column('email', sa.String),
        sa.column('phone', sa.String),
        sa.column('city', sa.String),
        sa.column('country', sa.String),
        sa.column('search_text', sa.Text),
    )
    connection = op.get_bind()
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(
                profiles.c.id,
                profiles.c.name,
                profiles.c.email,
                profiles.c.phone,
                profiles.c.city,
                profiles.c.country,
            )
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
                .values(
                    search_text=search_text_for(
                        row.name, row.email, row.phone, row.city, row.country
                    )
                )
            )
        last_id = rows[-1].id

    if connection.dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        op.create_index(
            INDEX,
            'patient_profiles',
            ['search_text'],
            postgresql_using='gin',
            postgresql_ops={'search_text': 'gin_trgm_ops'},
        )


def downgrade():
    # The folded text stays: the earlier search reads it as well. The extension stays too,
    # since something else in the database may use it.
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index(INDEX, table_name='patient_profiles')
