"""patients can be erased; the questionnaire's consent is recorded with its wording

A patient's record keeps when their personal data was erased (patient_profiles.erased_at):
the row stays for the clinic's books, shown as "Erased patient #<id>". Each questionnaire
submission keeps when the patient consented and which version of the consent wording they
saw. Existing rows: no patient is erased; submissions sent before this release required the
consent too, but which wording they saw was not recorded, so their consent columns stay
NULL and the patient page says "not recorded" rather than inventing a version.
Reviewed: three nullable columns added in place (no table rebuild, whose triggers would
break), no existing row touched.

Revision ID: d24000000001
Revises: d22000000001
Create Date: 2026-12-06 05:40:30.678078

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd24000000001'
down_revision = 'd22000000001'
branch_labels = None
depends_on = None


def upgrade():
    # Added in place on both databases (SQLite supports ADD COLUMN): a batch rebuild of
    # patient_profiles would break the triggers on consultations that name it.
    op.add_column('patient_profiles', sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('questionnaire_submissions', sa.Column('consent_given_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('questionnaire_submissions', sa.Column('consent_wording_version', sa.String(length=20), nullable=True))


def downgrade():
    # SQLite drops a column in place (3.35+), as 0015 does, for the same reason.
    op.execute('ALTER TABLE questionnaire_submissions DROP COLUMN consent_wording_version')
    op.execute('ALTER TABLE questionnaire_submissions DROP COLUMN consent_given_at')
    op.execute('ALTER TABLE patient_profiles DROP COLUMN erased_at')
