"""connections.token_expires_at: when an OAuth 2 connection's access token runs out;
oauth_states: authorization code flows started and not yet called back

Revision ID: oauth_0001
Revises: oapi_0001
Create Date: 2026-12-07 23:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import flomation.db.base

revision: str = "oauth_0001"
down_revision: str | None = "oapi_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "token_expires_at", flomation.db.base.UTCDateTime(timezone=True), nullable=True
            )
        )
    op.create_table(
        "oauth_states",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("connection_name", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("browser_hash", sa.String(length=64), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("created_at", flomation.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", flomation.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_oauth_states_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("state_hash", name=op.f("pk_oauth_states")),
    )


def downgrade() -> None:
    op.drop_table("oauth_states")
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.drop_column("token_expires_at")
