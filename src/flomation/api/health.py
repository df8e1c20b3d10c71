"""Liveness and readiness. Both are public."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from flomation.api.deps import DatabaseDep
from flomation.db.migrate import current_revision, head_revision

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", operation_id="readyz", response_model=None)
async def readyz(database: DatabaseDep) -> dict[str, Any] | JSONResponse:
    """The database answers and its schema is at the newest migration."""
    try:
        async with database.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            current = await connection.run_sync(current_revision)
    except Exception as exc:  # any driver error means "not ready", with the reason
        return JSONResponse(
            {"status": "unavailable", "detail": f"database unreachable: {type(exc).__name__}"},
            status_code=503,
        )
    head = head_revision()
    if current != head:
        return JSONResponse(
            {"status": "unavailable", "detail": f"migrations at {current}, expected {head}"},
            status_code=503,
        )
    return {"status": "ok", "migration": current}
