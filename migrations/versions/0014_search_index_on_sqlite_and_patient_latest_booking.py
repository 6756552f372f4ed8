"""search index on SQLite, and patients' consultations in start-time order

An index of each patient's consultations by start time (a search ordering the patients it
finds by their latest booking reads it) takes the place of the index on patient_profile_id,
its first column; one of the consultants the bookings name with their names does the same
for the index on organizer_email, so the dashboard's consultant filter reads its choices off
the index alone.
On SQLite, where there is no pg_trgm, an FTS5 trigram table (external content: it reads
patient_profiles.search_text) with three triggers keeps a substring index of the search
text; it is filled from the rows already there. PostgreSQL keeps its trigram index.
Reviewed: indexes, SQLite's virtual table and triggers only; no rows change.

Revision ID: c5e55105a019
Revises: c5e55105a018
Create Date: 2026-11-29 13:30:00.000000

"""
from alembic import op

from webapp.dashboard.search import SQLITE_SEARCH, SQLITE_SEARCH_DDL

# revision identifiers, used by Alembic.
revision = 'c5e55105a019'
down_revision = 'c5e55105a018'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.create_index(
            'ix_consultations_patient_profile_id_start_time',
            ['patient_profile_id', 'start_time'],
            unique=False,
        )
        batch_op.drop_index('ix_consultations_patient_profile_id')
        batch_op.create_index(
            'ix_consultations_organizer_email_name',
            ['organizer_email', 'organizer_name'],
            unique=False,
        )
        batch_op.drop_index('ix_consultations_organizer_email')
    if op.get_bind().dialect.name == 'sqlite':
        for statement in SQLITE_SEARCH_DDL:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        for trigger in ('insert', 'update', 'delete'):
            op.execute(f'DROP TRIGGER IF EXISTS {SQLITE_SEARCH}_{trigger}')
        op.execute(f'DROP TABLE IF EXISTS {SQLITE_SEARCH}')
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.create_index(
            'ix_consultations_patient_profile_id', ['patient_profile_id'], unique=False
        )
        batch_op.drop_index('ix_consultations_patient_profile_id_start_time')
        batch_op.create_index(
            'ix_consultations_organizer_email', ['organizer_email'], unique=False
        )
        batch_op.drop_index('ix_consultations_organizer_email_name')
