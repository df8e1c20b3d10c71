"""Shapes of variables and secrets. No shape here ever carries a secret's value outward."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class VariableBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Any


class VariableView(BaseModel):
    name: str
    value: Any
    created_at: datetime
    updated_at: datetime


class VariableList(BaseModel):
    items: list[VariableView]


class SecretBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str


class SecretView(BaseModel):
    """A secret as users see it: its name and dates, never its value."""

    name: str
    created_at: datetime
    updated_at: datetime


class SecretList(BaseModel):
    items: list[SecretView]
