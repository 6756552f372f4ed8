"""questionnaire answers and submissions

Every sending of the questionnaire is kept (questionnaire_submissions), with the booking
uid it came from so that a webhook arriving later joins the same patient; the profile
gains the latest answers, age range and gender. Reviewed: additive only, so the previous
release keeps working during a rolling deploy.

Revision ID: 0a1eb3d06ae2
Revises: 33401cf9b2f3
Create Date: 2026-11-25 06:36:01.697807

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0a1eb3d06ae2'
down_revision = '33401cf9b2f3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('questionnaire_submissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_profile_id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=True),
    sa.Column('cal_booking_uid', sa.String(length=100), nullable=True),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_questionnaire_submissions_consultation_id_consultations')),
    sa.ForeignKeyConstraint(['patient_profile_id'], ['patient_profiles.id'], name=op.f('fk_questionnaire_submissions_patient_profile_id_patient_profiles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_questionnaire_submissions'))
    )
    with op.batch_alter_table('questionnaire_submissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_questionnaire_submissions_cal_booking_uid'), ['cal_booking_uid'], unique=False)
        batch_op.create_index(batch_op.f('ix_questionnaire_submissions_patient_profile_id'), ['patient_profile_id'], unique=False)

    with op.batch_alter_table('patient_profiles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('age_range', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('gender', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('questionnaire_answers', sa.JSON(), nullable=True))



def downgrade():
    with op.batch_alter_table('patient_profiles', schema=None) as batch_op:
        batch_op.drop_column('questionnaire_answers')
        batch_op.drop_column('gender')
        batch_op.drop_column('age_range')

    with op.batch_alter_table('questionnaire_submissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_questionnaire_submissions_patient_profile_id'))
        batch_op.drop_index(batch_op.f('ix_questionnaire_submissions_cal_booking_uid'))

    op.drop_table('questionnaire_submissions')
