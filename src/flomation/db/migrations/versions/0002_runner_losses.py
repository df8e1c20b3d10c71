"""executions.runner_losses: how many times a runner died holding an execution;
executions.recovery_error: the error a recovery attempt (only the on_error branch) ends with;
runners.stopped_at: when a runner said goodbye at a clean shutdown

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 17:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import flomation.db.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The server default fills the rows that exist; new rows get 0 from the model too.
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("runner_losses", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.add_column(
            sa.Column("recovery_error", flomation.db.base.JSONDocument(), nullable=True)
        )
    with op.batch_alter_table("runners", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("stopped_at", flomation.db.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("runners", schema=None) as batch_op:
        batch_op.drop_column("stopped_at")
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_column("recovery_error")
        batch_op.drop_column("runner_losses")
