"""connections: typed credentials, encrypted at rest; connection_probes: tests run on runners

Revision ID: conn_0001
Revises: 0002
Create Date: 2026-12-07 23:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import flomation.db.base

revision: str = "conn_0001"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "connections",
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=200), nullable=False),
        sa.Column("nonce", sa.LargeBinary(length=12), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("created_at", flomation.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", flomation.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_tested_at", flomation.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_connections_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "name", name=op.f("pk_connections")),
    )
    op.create_table(
        "connection_probes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("connection_name", sa.String(length=64), nullable=False),
        sa.Column("runs_on", flomation.db.base.JSONDocument(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("runner_id", sa.String(length=36), nullable=True),
        sa.Column("requested_at", flomation.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", flomation.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_connection_probes_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connection_probes")),
    )
    with op.batch_alter_table("connection_probes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_connection_probes_organization_id_status",
            ["organization_id", "status"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("connection_probes", schema=None) as batch_op:
        batch_op.drop_index("ix_connection_probes_organization_id_status")
    op.drop_table("connection_probes")
    op.drop_table("connections")
