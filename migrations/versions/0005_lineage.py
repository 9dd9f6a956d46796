"""lineage: derived versions with their pipeline, fingerprint and inputs

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-29 23:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('lineage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('transform_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('output_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('pipeline', sa.JSON(), nullable=False),
    sa.Column('code', sa.JSON(), nullable=False),
    sa.Column('libraries', sa.JSON(), nullable=False),
    sa.Column('stats', sa.JSON(), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_lineage_dataset_id_datasets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lineage')),
    sa.UniqueConstraint('dataset_id', 'version', name=op.f('uq_lineage_dataset_id'))
    )
    with op.batch_alter_table('lineage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lineage_dataset_id'), ['dataset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lineage_transform_fingerprint'), ['transform_fingerprint'], unique=False)

    op.create_table('lineage_inputs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lineage_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('ref', sa.String(length=300), nullable=False),
    sa.Column('dataset', sa.String(length=128), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['lineage_id'], ['lineage.id'], name=op.f('fk_lineage_inputs_lineage_id_lineage')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lineage_inputs'))
    )
    with op.batch_alter_table('lineage_inputs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lineage_inputs_dataset'), ['dataset'], unique=False)
        batch_op.create_index(batch_op.f('ix_lineage_inputs_lineage_id'), ['lineage_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('lineage_inputs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lineage_inputs_lineage_id'))
        batch_op.drop_index(batch_op.f('ix_lineage_inputs_dataset'))
    op.drop_table('lineage_inputs')
    with op.batch_alter_table('lineage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lineage_transform_fingerprint'))
        batch_op.drop_index(batch_op.f('ix_lineage_dataset_id'))
    op.drop_table('lineage')
