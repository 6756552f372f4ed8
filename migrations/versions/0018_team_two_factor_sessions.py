"""the team runs itself: active consultants, two-factor, session records, invites

Consultants gain `active` (every existing one stays active), their last sign-in and their
TOTP key; sessions become rows (`consultant_sessions`) that a cookie names; recovery codes
and invite links are stored hashed. `session_version` stays for hosts still running the
previous release during a rolling upgrade (nothing reads it any more); a later release
drops it. Every session opened before this release ends once, as its cookie names no row.
Reviewed: three new tables; new nullable columns and one NOT NULL column with a server
default on `consultants` (added in place on SQLite, no table rebuild).

Revision ID: d21000000001
Revises: c5e55105a023
Create Date: 2026-12-06 05:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'd21000000001'
down_revision = 'c5e55105a023'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'consultants', sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False)
    )
    op.add_column('consultants', sa.Column('last_sign_in_at', sa.DateTime(timezone=True)))
    op.add_column('consultants', sa.Column('totp_secret', sa.String(length=64)))
    op.add_column('consultants', sa.Column('two_factor_enabled_at', sa.DateTime(timezone=True)))
    op.add_column('consultants', sa.Column('totp_last_step', sa.BigInteger()))
    op.create_table(
        'consultant_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('consultant_id', sa.Integer(), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_active_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('device', sa.String(length=100), server_default='', nullable=False),
        sa.Column('address', sa.String(length=45), nullable=True),
        sa.ForeignKeyConstraint(
            ['consultant_id'], ['consultants.id'],
            name=op.f('fk_consultant_sessions_consultant_id_consultants'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_consultant_sessions')),
        sa.UniqueConstraint('key_hash', name=op.f('uq_consultant_sessions_key_hash')),
    )
    with op.batch_alter_table('consultant_sessions', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_consultant_sessions_consultant_id'), ['consultant_id'], unique=False
        )
    op.create_table(
        'recovery_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('consultant_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['consultant_id'], ['consultants.id'],
            name=op.f('fk_recovery_codes_consultant_id_consultants'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes')),
        sa.UniqueConstraint(
            'consultant_id', 'code_hash', name='uq_recovery_codes_consultant_code'
        ),
    )
    op.create_table(
        'consultant_invites',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('invited_by_id', sa.Integer(), nullable=True),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('consultant_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['consultant_id'], ['consultants.id'],
            name=op.f('fk_consultant_invites_consultant_id_consultants'),
        ),
        sa.ForeignKeyConstraint(
            ['invited_by_id'], ['consultants.id'],
            name=op.f('fk_consultant_invites_invited_by_id_consultants'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_consultant_invites')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_consultant_invites_token_hash')),
    )
    with op.batch_alter_table('consultant_invites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consultant_invites_email'), ['email'], unique=False)


def downgrade():
    with op.batch_alter_table('consultant_invites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consultant_invites_email'))
    op.drop_table('consultant_invites')
    op.drop_table('recovery_codes')
    with op.batch_alter_table('consultant_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consultant_sessions_consultant_id'))
    op.drop_table('consultant_sessions')
    # SQLite drops these columns in place (3.35+).
    for column in ('totp_last_step', 'two_factor_enabled_at', 'totp_secret', 'last_sign_in_at',
                   'active'):
        op.execute(f'ALTER TABLE consultants DROP COLUMN {column}')
