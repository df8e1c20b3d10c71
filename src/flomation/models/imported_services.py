"""Imported OpenAPI services: what `import_openapi` made of a document, per organisation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from flomation.clock import utcnow
from flomation.db.base import Base, JSONValue


class ImportedServiceRow(Base):
    """One imported service of an organisation, by its name (`openapi.<name>`). `data` is
    `ImportedService.to_dict()` (not the document: a runner rebuilds the types from it without
    parsing anything again); `content_hash` is SHA-256 of its canonical JSON, so processes
    cache the rebuilt service by it and see a re-import as a new entry."""

    __tablename__ = "imported_services"

    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    operation_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
