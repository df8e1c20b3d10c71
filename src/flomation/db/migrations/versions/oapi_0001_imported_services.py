"""imported_services: OpenAPI documents imported as connection and node types

Revision ID: oapi_0001
Revises: whstore_0001
Create Date: 2026-12-07 23:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import flomation.db.base

revision: str = "oapi_0001"
down_revision: str | None = "whstore_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "imported_services",
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("data", flomation.db.base.JSONDocument(), nullable=False),
        sa.Column("operation_count", sa.Integer(), nullable=False),
        sa.Column("created_at", flomation.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", flomation.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_imported_services_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "name", name=op.f("pk_imported_services")),
    )


def downgrade() -> None:
    op.drop_table("imported_services")
