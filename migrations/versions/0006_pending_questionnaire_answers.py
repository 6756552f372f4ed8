"""pending questionnaire answers

Answers sent from the link of a booking whose Cal.com delivery has not arrived belong to
no patient until it does: questionnaire_submissions.patient_profile_id becomes nullable
(NULL = pending), and typed_name, typed_email, typed_phone keep who the person answering
said they were. Existing rows are kept; those still waiting for their booking (no
consultation with their uid) become pending, with the email they were filed under as
typed_email, so they no longer show on a patient's page before Cal.com confirms them.
Reviewed: additive apart from the NOT NULL being dropped; the previous release reads the
rows it wrote. Downgrade files pending rows under the patient whose email was typed and
deletes those it cannot (unconfirmed answers of no patient).

Revision ID: c5e55105a003
Revises: c5e55105a009
Create Date: 2026-11-29 10:18:37.528728

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c5e55105a003'
down_revision = 'c5e55105a009'
branch_labels = None
depends_on = None

STILL_WAITING = """
    consultation_id IS NULL
    AND cal_booking_uid IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM consultations
        WHERE consultations.cal_booking_uid = questionnaire_submissions.cal_booking_uid
    )
"""


def upgrade():
    with op.batch_alter_table('questionnaire_submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('typed_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('typed_email', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('typed_phone', sa.String(length=64), nullable=True))
        batch_op.alter_column('patient_profile_id',
               existing_type=sa.INTEGER(),
               nullable=True)

    op.execute(
        "UPDATE questionnaire_submissions SET typed_email = ("
        " SELECT email FROM patient_profiles"
        " WHERE patient_profiles.id = questionnaire_submissions.patient_profile_id"
        "), patient_profile_id = NULL WHERE" + STILL_WAITING
    )


def downgrade():
    op.execute(
        "UPDATE questionnaire_submissions SET patient_profile_id = ("
        " SELECT MIN(patient_profiles.id) FROM patient_profiles"
        " WHERE patient_profiles.email = questionnaire_submissions.typed_email"
        ") WHERE patient_profile_id IS NULL"
    )
    op.execute("DELETE FROM questionnaire_submissions WHERE patient_profile_id IS NULL")
    with op.batch_alter_table('questionnaire_submissions', schema=None) as batch_op:
        batch_op.alter_column('patient_profile_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('typed_phone')
        batch_op.drop_column('typed_email')
        batch_op.drop_column('typed_name')
