"""assessments, quotes, clinic settings and each patient's stage

After the consultation the consultant records an assessment (versioned, as notes are) and
makes a quote (versions sharing a quote number, with lines, the patient's answers, the
deposit received and the surgery date); the clinic's defaults for quotes are one row of
clinic_settings. Each patient gets a stage kept from those facts, with its history in
patient_stages, and beside it the day a waiting quote is valid until, indexed together so
the dashboard's stage filter and counts read an index range.
Existing rows: every patient with a completed consultation starts as "consulted", from the
time of their latest completed consultation, with that one step in their history; nothing
else changes. Reviewed: new tables, three nullable columns and an index on
patient_profiles (added in place on SQLite, no rebuild).

Revision ID: d22000000001
Revises: d25a1c0e0018
Create Date: 2026-12-06 05:40:20.244549

"""
from alembic import op
import sqlalchemy as sa

# Patients whose consultation took place: where every one of them stands today.
CONSULTED = """
UPDATE patient_profiles
SET stage = 'consulted',
    stage_changed_at = (
        SELECT max(coalesce(c.status_changed_at, c.end_time, c.start_time, c.created_at))
        FROM consultations c
        WHERE c.patient_profile_id = patient_profiles.id AND c.status = 'completed'
    )
WHERE EXISTS (
    SELECT 1 FROM consultations c
    WHERE c.patient_profile_id = patient_profiles.id AND c.status = 'completed'
)
"""
HISTORY = """
INSERT INTO patient_stages (patient_profile_id, stage, at)
SELECT id, stage, stage_changed_at FROM patient_profiles WHERE stage IS NOT NULL
"""


# revision identifiers, used by Alembic.
revision = 'd22000000001'
down_revision = 'd25a1c0e0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('clinic_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), server_default='EUR', nullable=False),
    sa.Column('procedure_price_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('price_per_graft_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('deposit_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('deposit_percent', sa.Integer(), nullable=True),
    sa.Column('validity_days', sa.Integer(), server_default='30', nullable=False),
    sa.Column('balance_terms', sa.JSON(), nullable=False),
    sa.Column('inclusions', sa.JSON(), nullable=False),
    sa.Column('exclusions', sa.JSON(), nullable=False),
    sa.Column('terms', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['consultants.id'], name=op.f('fk_clinic_settings_updated_by_id_consultants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clinic_settings'))
    )
    op.create_table('patient_stages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_profile_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_profile_id'], ['patient_profiles.id'], name=op.f('fk_patient_stages_patient_profile_id_patient_profiles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_stages'))
    )
    with op.batch_alter_table('patient_stages', schema=None) as batch_op:
        batch_op.create_index('ix_patient_stages_patient_profile_id_at', ['patient_profile_id', 'at'], unique=False)

    op.create_table('assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_profile_id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=True),
    sa.Column('consultant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('replaces_id', sa.Integer(), nullable=True),
    sa.Column('pattern', sa.String(length=20), nullable=False),
    sa.Column('donor_quality', sa.String(length=20), nullable=False),
    sa.Column('donor_density', sa.Integer(), nullable=True),
    sa.Column('grafts_min', sa.Integer(), nullable=True),
    sa.Column('grafts_max', sa.Integer(), nullable=True),
    sa.Column('technique', sa.String(length=20), nullable=False),
    sa.Column('suitability', sa.String(length=30), nullable=False),
    sa.Column('unsuitable_reason', sa.Text(), nullable=True),
    sa.Column('recommendations', sa.Text(), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['consultant_id'], ['consultants.id'], name=op.f('fk_assessments_consultant_id_consultants')),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_assessments_consultation_id_consultations')),
    sa.ForeignKeyConstraint(['patient_profile_id'], ['patient_profiles.id'], name=op.f('fk_assessments_patient_profile_id_patient_profiles')),
    sa.ForeignKeyConstraint(['replaces_id'], ['assessments.id'], name=op.f('fk_assessments_replaces_id_assessments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessments')),
    sa.UniqueConstraint('replaces_id', name=op.f('uq_assessments_replaces_id'))
    )
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessments_consultation_id'), ['consultation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessments_patient_profile_id'), ['patient_profile_id'], unique=False)

    op.create_table('quotes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quote_number', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('replaces_id', sa.Integer(), nullable=True),
    sa.Column('link_key', sa.String(length=32), nullable=False),
    sa.Column('patient_profile_id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=True),
    sa.Column('consultant_id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('deposit_minor', sa.BigInteger(), nullable=False),
    sa.Column('balance_terms', sa.Text(), server_default='', nullable=False),
    sa.Column('inclusions', sa.Text(), server_default='', nullable=False),
    sa.Column('exclusions', sa.Text(), server_default='', nullable=False),
    sa.Column('terms', sa.Text(), server_default='', nullable=False),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('viewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'], name=op.f('fk_quotes_assessment_id_assessments')),
    sa.ForeignKeyConstraint(['consultant_id'], ['consultants.id'], name=op.f('fk_quotes_consultant_id_consultants')),
    sa.ForeignKeyConstraint(['patient_profile_id'], ['patient_profiles.id'], name=op.f('fk_quotes_patient_profile_id_patient_profiles')),
    sa.ForeignKeyConstraint(['replaces_id'], ['quotes.id'], name=op.f('fk_quotes_replaces_id_quotes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quotes')),
    sa.UniqueConstraint('quote_number', 'version', name='uq_quotes_number_version'),
    sa.UniqueConstraint('replaces_id', name=op.f('uq_quotes_replaces_id'))
    )
    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quotes_assessment_id'), ['assessment_id'], unique=False)
        batch_op.create_index('ix_quotes_patient_profile_id_created_at', ['patient_profile_id', 'created_at'], unique=False)

    op.create_table('deposit_payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quote_id', sa.Integer(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('consultant_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['consultant_id'], ['consultants.id'], name=op.f('fk_deposit_payments_consultant_id_consultants')),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_deposit_payments_quote_id_quotes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deposit_payments'))
    )
    with op.batch_alter_table('deposit_payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deposit_payments_quote_id'), ['quote_id'], unique=False)

    op.create_table('quote_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quote_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('grafts', sa.Integer(), nullable=True),
    sa.Column('price_minor', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_quote_lines_quote_id_quotes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_lines'))
    )
    with op.batch_alter_table('quote_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quote_lines_quote_id'), ['quote_id'], unique=False)

    op.create_table('quote_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quote_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('quote_version', sa.Integer(), nullable=False),
    sa.Column('typed_name', sa.String(length=200), nullable=True),
    sa.Column('terms_accepted', sa.Boolean(), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_quote_responses_quote_id_quotes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_responses'))
    )
    with op.batch_alter_table('quote_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quote_responses_quote_id'), ['quote_id'], unique=False)

    op.create_table('surgery_dates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quote_id', sa.Integer(), nullable=False),
    sa.Column('surgery_on', sa.Date(), nullable=False),
    sa.Column('consultant_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['consultant_id'], ['consultants.id'], name=op.f('fk_surgery_dates_consultant_id_consultants')),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_surgery_dates_quote_id_quotes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_surgery_dates'))
    )
    with op.batch_alter_table('surgery_dates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_surgery_dates_quote_id'), ['quote_id'], unique=False)

    with op.batch_alter_table('patient_profiles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stage', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('stage_changed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('quote_valid_until', sa.Date(), nullable=True))
        batch_op.create_index('ix_patient_profiles_stage_valid_until', ['stage', 'quote_valid_until', 'id'], unique=False)

    op.execute(CONSULTED)
    op.execute(HISTORY)


def downgrade():
    with op.batch_alter_table('patient_profiles', schema=None) as batch_op:
        batch_op.drop_index('ix_patient_profiles_stage_valid_until')
    # SQLite drops the columns in place (3.35+): a batch rebuild of patient_profiles would
    # drop its search-index and latest-booking triggers too.
    for column in ('quote_valid_until', 'stage_changed_at', 'stage'):
        op.execute(f'ALTER TABLE patient_profiles DROP COLUMN {column}')

    with op.batch_alter_table('surgery_dates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_surgery_dates_quote_id'))

    op.drop_table('surgery_dates')
    with op.batch_alter_table('quote_responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quote_responses_quote_id'))

    op.drop_table('quote_responses')
    with op.batch_alter_table('quote_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quote_lines_quote_id'))

    op.drop_table('quote_lines')
    with op.batch_alter_table('deposit_payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deposit_payments_quote_id'))

    op.drop_table('deposit_payments')
    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.drop_index('ix_quotes_patient_profile_id_created_at')
        batch_op.drop_index(batch_op.f('ix_quotes_assessment_id'))

    op.drop_table('quotes')
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessments_patient_profile_id'))
        batch_op.drop_index(batch_op.f('ix_assessments_consultation_id'))

    op.drop_table('assessments')
    with op.batch_alter_table('patient_stages', schema=None) as batch_op:
        batch_op.drop_index('ix_patient_stages_patient_profile_id_at')

    op.drop_table('patient_stages')
    op.drop_table('clinic_settings')
