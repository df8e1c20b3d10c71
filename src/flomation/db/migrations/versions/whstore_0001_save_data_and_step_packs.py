"""organizations.save_data: what executions keep when their flow's definition does not say
(`all`, `errors`, `none`); execution_step_packs: foreach iterations' steps, one row per report

Revision ID: whstore_0001
Revises: conn_0001
Create Date: 2026-12-07 23:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import flomation.db.base

revision: str = "whstore_0001"
down_revision: str | None = "conn_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The server default fills the organisations that exist: they keep everything, as before.
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("save_data", sa.String(length=10), server_default="all", nullable=False)
        )
    op.create_table(
        "execution_step_packs",
        sa.Column("execution_id", sa.String(length=36), nullable=False),
        sa.Column("pack_key", sa.String(length=40), nullable=False),
        sa.Column("run_attempt", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("steps", flomation.db.base.JSONDocument(), nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name=op.f("fk_execution_step_packs_execution_id_executions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("execution_id", "pack_key", name=op.f("pk_execution_step_packs")),
    )


def downgrade() -> None:
    op.drop_table("execution_step_packs")
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("save_data")
