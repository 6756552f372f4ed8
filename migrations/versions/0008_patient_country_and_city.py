"""Patient country and city, kept apart from the free-text location.

The dashboard shows and filters by country, and the questionnaire offers the booking's
country and city for the patient to confirm. Existing patients take the country from
their latest questionnaire answers where they gave one; the booking's own answers fill
the rest as deliveries arrive (``flask cal replay`` fills them for stored ones).

Revision ID: c5e55105a008
Revises: c5e55105a001
Create Date: 2026-11-29 10:38:18
"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c5e55105a008'
down_revision = 'c5e55105a001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('patient_profiles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('country', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('city', sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f('ix_patient_profiles_country'), ['country'], unique=False)

    connection = op.get_bind()
    profiles = sa.table(
        'patient_profiles',
        sa.column('id', sa.Integer),
        sa.column('country', sa.String),
        sa.column('questionnaire_answers', sa.Text),
    )
    answered = connection.execute(
        sa.select(profiles.c.id, profiles.c.questionnaire_answers).where(
            profiles.c.questionnaire_answers.is_not(None)
        )
    ).all()
    for profile_id, raw in answered:
        answers = json.loads(raw) if isinstance(raw, str) else raw
        country = (answers or {}).get('country') if isinstance(answers, dict) else None
        if isinstance(country, str) and country.strip():
            connection.execute(
                profiles.update()
                .where(profiles.c.id == profile_id)
                .values(country=country.strip()[:100])
            )


def downgrade():
    with op.batch_alter_table('patient_profiles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patient_profiles_country'))
        batch_op.drop_column('city')
        batch_op.drop_column('country')
