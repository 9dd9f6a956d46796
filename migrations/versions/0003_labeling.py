"""labeling: label schemas, Label Studio projects, sync cursors

Revision ID: 0003
Revises: 0001
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "label_schemas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("config_hash", sa.String(length=64), nullable=False),
        sa.Column("config_xml", sa.Text(), nullable=False),
        sa.Column("controls", sa.JSON(), nullable=False),
        sa.Column("migration", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_schemas")),
        sa.UniqueConstraint("name", "config_hash", name="uq_label_schemas_name_hash"),
        sa.UniqueConstraint("name", "version", name="uq_label_schemas_name_version"),
    )
    with op.batch_alter_table("label_schemas", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_label_schemas_name"), ["name"], unique=False)

    op.create_table(
        "label_projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("dataset", sa.String(length=128), nullable=False),
        sa.Column("ls_url", sa.String(length=512), nullable=False),
        sa.Column("ls_project_id", sa.Integer(), nullable=False),
        sa.Column("schema_name", sa.String(length=128), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_projects")),
        sa.UniqueConstraint("name", name=op.f("uq_label_projects_name")),
    )
    with op.batch_alter_table("label_projects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_label_projects_dataset"), ["dataset"], unique=False)

    op.create_table(
        "label_sync_cursors",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("high_water_mark", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_pull_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_stats", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["label_projects.id"],
            name=op.f("fk_label_sync_cursors_project_id_label_projects"),
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_label_sync_cursors")),
    )


def downgrade() -> None:
    op.drop_table("label_sync_cursors")
    with op.batch_alter_table("label_projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_label_projects_dataset"))
    op.drop_table("label_projects")
    with op.batch_alter_table("label_schemas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_label_schemas_name"))
    op.drop_table("label_schemas")
