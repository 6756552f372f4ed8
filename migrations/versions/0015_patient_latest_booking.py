"""each patient's latest booking, kept by the database

The dashboard's search lists the patients it finds, latest booking first; with thousands of
matches, reading each one's consultations to order them grew with the clinic. The patient
row now holds when its latest consultation starts (one of unknown time counts from when it
was booked), filled here from the consultations there are, and kept by triggers on
consultations (a PL/pgSQL function on PostgreSQL, three triggers on SQLite).
Reviewed: one nullable column added (no table rebuild on SQLite), derived from existing
rows; triggers only otherwise.

Revision ID: c5e55105a021
Revises: c5e55105a019
Create Date: 2026-11-29 14:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

from webapp.dashboard.search import LATEST_BOOKING_DDL

# revision identifiers, used by Alembic.
revision = 'c5e55105a021'
down_revision = 'c5e55105a019'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('patient_profiles', sa.Column('latest_booking_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(
        'UPDATE patient_profiles SET latest_booking_at = ('
        'SELECT max(coalesce(start_time, created_at)) FROM consultations'
        ' WHERE consultations.patient_profile_id = patient_profiles.id)'
    )
    for statement in LATEST_BOOKING_DDL[op.get_bind().dialect.name]:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS consultations_latest_booking ON consultations')
        op.execute('DROP FUNCTION IF EXISTS patient_latest_booking()')
    else:
        for trigger in ('insert', 'update', 'delete'):
            op.execute(f'DROP TRIGGER IF EXISTS consultations_latest_booking_{trigger}')
    # SQLite drops the column in place (3.35+): a batch rebuild of patient_profiles would
    # drop its search-index triggers too.
    op.execute('ALTER TABLE patient_profiles DROP COLUMN latest_booking_at')
