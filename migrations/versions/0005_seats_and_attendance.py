"""Seats, attendance and meeting details of a booking.

One consultation per seat holder, who attended, how to join, and who hosts.

A seated Cal.com event sends every seat holder under the same booking uid, so the unique
key of a consultation becomes (uid, seat_key). Existing rows are ordinary bookings: they
get seat_key "" (the server default), which keeps them unique exactly as before.
``attendee_email`` stays empty for them (the patient's email stands in for it), and
``attendance`` / ``host_no_show_at`` and the meeting columns start empty (the stored
deliveries still hold them; ``flask cal replay`` fills them in).

Downgrading fails while a booking has more than one seat stored, rather than deleting any.

Revision ID: c5e55105a009
Revises: bf23967a2057
Create Date: 2026-11-29 10:45:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c5e55105a009'
down_revision = 'bf23967a2057'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seat_key', sa.String(length=320), server_default='', nullable=False))
        batch_op.add_column(sa.Column('attendee_email', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('attendee_locale', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('meeting_url', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('meeting_location', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('organizer_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('organizer_email', sa.String(length=320), nullable=True))
        batch_op.create_index(batch_op.f('ix_consultations_organizer_email'), ['organizer_email'], unique=False)
        batch_op.add_column(sa.Column('attendance', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('host_no_show_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint('uq_consultations_cal_booking_uid', type_='unique')
        batch_op.create_unique_constraint('uq_consultations_booking_seat', ['cal_booking_uid', 'seat_key'])


def downgrade():
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.drop_constraint('uq_consultations_booking_seat', type_='unique')
        batch_op.create_unique_constraint('uq_consultations_cal_booking_uid', ['cal_booking_uid'])
        batch_op.drop_column('host_no_show_at')
        batch_op.drop_column('attendance')
        batch_op.drop_index(batch_op.f('ix_consultations_organizer_email'))
        batch_op.drop_column('organizer_email')
        batch_op.drop_column('organizer_name')
        batch_op.drop_column('meeting_location')
        batch_op.drop_column('meeting_url')
        batch_op.drop_column('attendee_locale')
        batch_op.drop_column('attendee_email')
        batch_op.drop_column('seat_key')
