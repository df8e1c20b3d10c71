"""Sign-up: a new organisation with its first owner, only when sign-up is open."""

from __future__ import annotations

from sqlalchemy import select

from flomation.db.session import Database
from flomation.models.auth import Membership, Organization, User
from tests.auth.conftest import StartApi, set_cookies
from tests.factories import Actor
from tests.live import LiveServer

SIGNUP = {
    "email": "Grace@Example.COM",
    "password": "a long enough password",
    "name": "Grace Hopper",
    "organization": "Navy Labs",
}


async def test_signup_is_refused_when_closed(api: LiveServer, database: Database) -> None:
    async with api.client() as client:
        response = await client.post("/api/v1/auth/signup", json=SIGNUP)
    assert response.status_code == 403
    assert "closed" in response.json()["detail"]
    async with database.transaction() as session:
        assert (await session.scalars(select(User))).all() == []


async def test_open_signup_creates_an_organisation_owned_by_the_new_user(
    start_api: StartApi, database: Database
) -> None:
    async with start_api(signup="open") as server, server.client() as client:
        response = await client.post("/api/v1/auth/signup", json=SIGNUP)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["user"]["email"] == "grace@example.com"
        assert body["user"]["role"] == "owner"
        assert {"flomation_session", "flomation_csrf"} <= set(set_cookies(response))
        me = await client.get("/api/v1/me")  # by the session cookie
    assert me.status_code == 200
    assert me.json()["organization"]["name"] == "Navy Labs"
    async with database.transaction() as session:
        organization = await session.scalar(
            select(Organization).where(Organization.id == me.json()["organization"]["id"])
        )
        membership = await session.scalar(
            select(Membership).where(Membership.user_id == body["user"]["id"])
        )
    assert organization is not None
    assert membership is not None
    assert membership.role == "owner"


async def test_signup_with_a_taken_email_is_a_conflict_whatever_its_case(
    start_api: StartApi, owner: Actor
) -> None:
    taken = {**SIGNUP, "email": owner.email.upper()}
    async with start_api(signup="open") as server, server.client() as client:
        response = await client.post("/api/v1/auth/signup", json=taken)
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert "already exists" in detail
    assert owner.organization_id not in response.text


async def test_signup_refuses_a_short_password_clearly(start_api: StartApi) -> None:
    async with start_api(signup="open") as server, server.client() as client:
        response = await client.post("/api/v1/auth/signup", json={**SIGNUP, "password": "seven77"})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors[0]["loc"] == ["body", "password"]
    assert "8 characters" in errors[0]["msg"]


async def test_signup_refuses_what_is_not_an_email_and_empty_names(start_api: StartApi) -> None:
    async with start_api(signup="open") as server, server.client() as client:
        response = await client.post(
            "/api/v1/auth/signup",
            json={**SIGNUP, "email": "not an email", "name": "  ", "organization": ""},
        )
    assert response.status_code == 422
    locations = {tuple(error["loc"]) for error in response.json()["errors"]}
    assert locations == {("body", "email"), ("body", "name"), ("body", "organization")}
