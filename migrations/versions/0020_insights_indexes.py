"""indexes for the insights

The insights count a period's bookings by week, outcome, consultant, language, lead time,
country and when the patient first answered the questionnaire. Three indexes let each count
read an index alone: the consultations' columns the charts read, in start-time order; each
patient's id with their country; and each patient's submissions in time order (which
replaces the index of patient_profile_id alone, its leading column).
Reviewed: indexes only; no rows change.

Revision ID: d25a1c0e0018
Revises: d23000000001
Create Date: 2026-12-06 05:00:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd25a1c0e0018'
down_revision = 'd23000000001'
branch_labels = None
depends_on = None

INSIGHTS_COLUMNS = [
    'start_time',
    'status',
    'organizer_email',
    'patient_profile_id',
    'created_at',
    'attendee_locale',
]


def upgrade():
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.create_index('ix_consultations_insights', INSIGHTS_COLUMNS, unique=False)
    with op.batch_alter_table('patient_profiles', schema=None) as batch_op:
        batch_op.create_index('ix_patient_profiles_id_country', ['id', 'country'], unique=False)
    with op.batch_alter_table('questionnaire_submissions', schema=None) as batch_op:
        batch_op.create_index(
            'ix_questionnaire_submissions_patient_profile_id_submitted_at',
            ['patient_profile_id', 'submitted_at'],
            unique=False,
        )
        batch_op.drop_index('ix_questionnaire_submissions_patient_profile_id')


def downgrade():
    with op.batch_alter_table('questionnaire_submissions', schema=None) as batch_op:
        batch_op.create_index(
            'ix_questionnaire_submissions_patient_profile_id', ['patient_profile_id'], unique=False
        )
        batch_op.drop_index('ix_questionnaire_submissions_patient_profile_id_submitted_at')
    with op.batch_alter_table('patient_profiles', schema=None) as batch_op:
        batch_op.drop_index('ix_patient_profiles_id_country')
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.drop_index('ix_consultations_insights')
