"""the tabs' indexes carry the patient; each patient's id with their stage

The dashboard's Past tab filtered by stage walks the tab's consultations in start-time order
and checks each one's patient until a page is full: for "expired" at 100,000 patients some
5,000 consultations. The Upcoming and Past indexes now hold each consultation's patient, and
a new index holds each patient's id with their stage and the day their quote is valid until,
so that walk reads two indexes and no row (docs/decisions.md 15).
Reviewed: indexes only; no rows change. The two tab indexes are rebuilt under their names.

Revision ID: d22000000002
Revises: d24000000001
Create Date: 2026-12-06 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'd22000000002'
down_revision = 'd24000000001'
branch_labels = None
depends_on = None

TABS = {
    'ix_consultations_live_start_time': "status IN ('scheduled', 'pending')",
    'ix_consultations_held_start_time': "status NOT IN ('cancelled', 'rejected', 'rescheduled')",
}


def _tab_indexes(columns):
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        for name, where in TABS.items():
            batch_op.drop_index(name)
            batch_op.create_index(
                name,
                columns,
                unique=False,
                postgresql_where=sa.text(where),
                sqlite_where=sa.text(where),
            )


def upgrade():
    _tab_indexes(['start_time', 'id', 'patient_profile_id'])
    with op.batch_alter_table('patient_profiles', schema=None) as batch_op:
        batch_op.create_index(
            'ix_patient_profiles_id_stage', ['id', 'stage', 'quote_valid_until'], unique=False
        )


def downgrade():
    with op.batch_alter_table('patient_profiles', schema=None) as batch_op:
        batch_op.drop_index('ix_patient_profiles_id_stage')
    _tab_indexes(['start_time', 'id'])
