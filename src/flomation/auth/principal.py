"""Who is calling: the result of authenticating a request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from flomation.auth.roles import Role


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str
    organization_id: str
    role: Role
    token_id: str
    token_kind: Literal["session", "api"]
    via: Literal["cookie", "bearer"]
