"""Auth endpoints. `public_router` holds the calls made before authenticating."""

from __future__ import annotations

from fastapi import APIRouter

from flomation.api.deps import CurrentPrincipal

router = APIRouter(tags=["auth"])
public_router = APIRouter(tags=["auth"])


@router.get("/me", operation_id="get_me")
async def get_me(principal: CurrentPrincipal) -> dict[str, str]:
    return {"id": principal.user_id, "role": principal.role.value}
