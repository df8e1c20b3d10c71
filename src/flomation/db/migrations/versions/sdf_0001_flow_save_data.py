"""flows.save_data: what a flow's executions keep (`all`, `errors`, `none`), a flow setting
changed through `PATCH /api/v1/flows/{id}` (no new revision); null: the organisation's default.

Revision ID: sdf_0001
Revises: oauth_0001
Create Date: 2026-12-08 00:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "sdf_0001"
down_revision: str | None = "oauth_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Null for every flow that exists: it follows its organisation's default. A `save_data`
    # that a revision's document carries (the previous place of the setting, never released)
    # is not carried over: the document keeps it as an unknown field that nothing reads.
    with op.batch_alter_table("flows", schema=None) as batch_op:
        batch_op.add_column(sa.Column("save_data", sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("flows", schema=None) as batch_op:
        batch_op.drop_column("save_data")
