"""Request and answer shapes of the auth calls. Request bodies refuse unknown fields."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, cast

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from flomation.auth.roles import Role
from flomation.models.auth import AccessToken, Membership, Organization, User
from flomation.models.flows import SaveData
from flomation.timeutil import isoformat

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024

# Deliberately loose: one "@", something on each side, no spaces. Whether the address receives
# mail is not ours to decide; uniqueness is checked on the lower-cased form.
_EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+$")


def normalize_email(value: str) -> str:
    email = value.strip().lower()
    if not _EMAIL_SHAPE.match(email):
        raise ValueError("must be an email address such as ada@example.com")
    return email


def _check_id(value: str) -> str:
    try:
        uuid.UUID(value)
    except ValueError:
        raise ValueError("must be an id such as 0190a6f4-8a11-7cc2-9d5e-4a1b2c3d4e5f") from None
    return value


Email = Annotated[
    str, StringConstraints(min_length=3, max_length=320), AfterValidator(normalize_email)
]
NewPassword = Annotated[
    str,
    Field(
        min_length=MIN_PASSWORD_LENGTH,
        max_length=MAX_PASSWORD_LENGTH,
        description=f"At least {MIN_PASSWORD_LENGTH} characters",
    ),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Id = Annotated[str, StringConstraints(max_length=36), AfterValidator(_check_id)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginRequest(_Request):
    email: Email
    password: Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)]


class SignupRequest(_Request):
    email: Email
    password: NewPassword
    name: Name
    organization: Name


class TokenCreate(_Request):
    name: Name
    expires_at: AwareDatetime | None = None


class UserCreate(_Request):
    email: Email
    name: Name
    password: NewPassword
    role: Role


class UserUpdate(_Request):
    name: Name | None = None
    role: Role | None = None
    password: NewPassword | None = None


class OrganizationDefaults(BaseModel):
    """What the organisation's flows do when their own settings do not say."""

    save_data: SaveData = Field(
        description="What executions keep: `all` (steps and logs), `errors` (steps and logs "
        "of executions that did not succeed), `none` (the execution's summary only)"
    )


class OrganizationDefaultsUpdate(_Request):
    save_data: SaveData | None = None


class OrganizationUpdate(_Request):
    name: Name | None = None
    error_flow_id: Id | None = Field(
        default=None, description="The flow started with every failed execution; null clears it"
    )
    defaults: OrganizationDefaultsUpdate | None = None


class UserView(BaseModel):
    id: str
    email: str
    name: str
    role: Role
    created_at: str

    @classmethod
    def of(cls, user: User, membership: Membership) -> UserView:
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            role=Role(membership.role),
            created_at=_time(user.created_at),
        )


class AuthResult(BaseModel):
    """The answer of login and sign-up: a session token (also set as a cookie) and the user."""

    token: str
    user: UserView


class OrganizationRef(BaseModel):
    id: str
    name: str


class MeView(BaseModel):
    id: str
    email: str
    name: str
    organization: OrganizationRef
    role: Role


class OrganizationView(BaseModel):
    id: str
    name: str
    error_flow_id: str | None
    defaults: OrganizationDefaults
    created_at: str

    @classmethod
    def of(cls, organization: Organization) -> OrganizationView:
        return cls(
            id=organization.id,
            name=organization.name,
            error_flow_id=organization.error_flow_id,
            defaults=OrganizationDefaults(save_data=cast(SaveData, organization.save_data)),
            created_at=_time(organization.created_at),
        )


class TokenView(BaseModel):
    """A personal API token as listed: never its secret."""

    id: str
    name: str
    created_at: str
    expires_at: str | None
    last_used_at: str | None

    @classmethod
    def of(cls, token: AccessToken) -> TokenView:
        return cls(
            id=token.id,
            name=token.name,
            created_at=_time(token.created_at),
            expires_at=isoformat(token.expires_at),
            last_used_at=isoformat(token.last_used_at),
        )


class CreatedToken(BaseModel):
    """A new personal API token: `token` is shown this once and never again."""

    id: str
    name: str
    token: str
    expires_at: str | None


def _time(value: datetime) -> str:
    return isoformat(value) or ""
