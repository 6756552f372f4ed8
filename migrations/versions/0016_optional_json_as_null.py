"""absent JSON stored as NULL, not as the JSON text "null"

Rows written by a Core insert that bound every column (new patients and bookings, for a
while) held the JSON text "null" where nothing was known yet: a patient's questionnaire answers, a
booking's answers and attendance. The models now store Python's None as SQL NULL
(``OPTIONAL_JSON``); this turns the existing "null" texts into NULL, so that one absence
reads one way in SQL as it already did in Python. Audit events are append-only and are
left as they were written.
Reviewed: data only, no schema change; the downgrade leaves NULL (the app reads both alike).

Revision ID: c5e55105a022
Revises: c5e55105a021
Create Date: 2026-11-29 19:30:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c5e55105a022'
down_revision = 'c5e55105a021'
branch_labels = None
depends_on = None

COLUMNS = (
    ("patient_profiles", "questionnaire_answers"),
    ("consultations", "booking_answers"),
    ("consultations", "attendance"),
)


def upgrade():
    for table, column in COLUMNS:
        op.execute(f"UPDATE {table} SET {column} = NULL WHERE CAST({column} AS TEXT) = 'null'")


def downgrade():
    pass
