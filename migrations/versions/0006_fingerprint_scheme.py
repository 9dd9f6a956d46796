"""fingerprint scheme: each snapshot record names the scheme its fingerprint was computed with

Existing records were computed with ``curata-fp-1`` (provenance hashed in); new ones use the
content-defined ``curata-fp-2``. ``curata db upgrade`` re-fingerprints the old records after
this revision (``curata.write.rescheme``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 21:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('snapshots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fp_scheme', sa.String(length=32), nullable=False,
                                      server_default='curata-fp-1'))
    with op.batch_alter_table('snapshots', schema=None) as batch_op:
        batch_op.alter_column('fp_scheme', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('snapshots', schema=None) as batch_op:
        batch_op.drop_column('fp_scheme')
