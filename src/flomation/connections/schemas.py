"""Shapes of connections and their types. A secret field's value never leaves in any of them:
`ConnectionView.values` carries `"***"` in its place."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# What a secret field's value is answered as when it is set, and what a PUT sends to keep it.
MASK = "***"


class ConnectionTypeView(BaseModel):
    """One connection type: the JSON schema of its values (secret fields marked
    `"x-secret": true`) and which of them are secret. A plugin's type may add fields."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    type: str
    title: str
    # `schema` would shadow a BaseModel attribute, hence the alias.
    values_schema: dict[str, Any] = Field(
        alias="schema", description="JSON Schema of the connection's values"
    )
    secret_fields: list[str] = Field(description='Write-only fields, answered as "***"')
    auth: str | None = Field(default=None, description='"oauth2" for OAuth 2 types')
    icon: str = "plug"
    description: str = ""


class ConnectionBody(BaseModel):
    """`PUT /connections/{name}`: a secret field sent as `"***"` keeps its stored value."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=1, max_length=200)
    values: dict[str, Any]


class ConnectionView(BaseModel):
    """A connection as users see it: secret fields that are set read `"***"`."""

    name: str
    type: str
    values: dict[str, Any]
    status: str = Field(description='"ok", or "needs_reconnect" when an OAuth refresh failed')
    updated_at: datetime
    last_tested_at: datetime | None
    last_error: str | None


class ConnectionTestBody(BaseModel):
    """`POST /connections/{name}/test`: which runners may run the probe (their labels)."""

    model_config = ConfigDict(extra="forbid")

    runs_on: dict[str, str] = Field(default_factory=dict)


class ConnectionTestResult(BaseModel):
    ok: bool
    message: str
    duration_ms: int


# --------------------------------------------------------------------------- OpenAPI import


class OpenApiImportBody(BaseModel):
    """`POST /connection-types/openapi`: an OpenAPI 3.0/3.1 document (JSON or YAML text, or
    the document as a JSON object), at most 5 MiB, imported as `openapi.<name>`."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=200, description="^[A-Za-z_][A-Za-z0-9_]{0,63}$")
    document: str | dict[str, Any]


class ImportedServiceView(BaseModel):
    """What an import made: the connection type and one node type per operation, and what it
    left out (`notes`)."""

    name: str
    title: str
    version: str
    openapi: str
    connection_type: ConnectionTypeView
    node_types: list[dict[str, Any]]
    notes: list[str]
    updated_at: datetime


class ImportedServiceSummary(BaseModel):
    """An imported service in the list."""

    name: str
    type: str = Field(description="Its connection type, `openapi.<name>`")
    title: str
    version: str
    openapi: str
    operation_count: int
    notes: list[str]
    updated_at: datetime


# --------------------------------------------------------------------------- OAuth 2


class ConnectionRefreshRequest(BaseModel):
    """`POST /runner/connections/{name}/refresh`: a service answered 401 to a node of this
    execution attempt (the fencing: a stale attempt is refused) with the token whose SHA-256
    (hex) is `refused_token_sha256` (the token itself is not sent back)."""

    model_config = ConfigDict(extra="forbid")

    execution_id: str = Field(min_length=1, max_length=64)
    attempt: int = Field(ge=1)
    refused_token_sha256: str = Field(pattern="^[0-9a-f]{64}$")
