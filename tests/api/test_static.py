from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from flomation.api.app import create_app
from flomation.config import Settings
from flomation.db.session import Database
from tests.live import LiveServer, serve


@pytest.fixture
async def editor_api(
    settings: Settings, database: Database, tmp_path: Path
) -> AsyncIterator[LiveServer]:
    editor = tmp_path / "editor"
    (editor / "assets").mkdir(parents=True)
    (editor / "index.html").write_text("<!doctype html><title>Flomation editor</title>")
    (editor / "assets" / "app-1234.js").write_text("console.log('editor')")
    (tmp_path / "secret.txt").write_text("outside the editor")
    app = create_app(settings.model_copy(update={"editor_dir": editor}), database=database)
    async with serve(app) as server:
        yield server


async def test_editor_index_is_served_at_the_root(editor_api: LiveServer) -> None:
    async with editor_api.client() as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert "Flomation editor" in response.text


async def test_client_side_routes_fall_back_to_the_index(editor_api: LiveServer) -> None:
    async with editor_api.client() as client:
        response = await client.get("/flows/123/history")
    assert response.status_code == 200
    assert "Flomation editor" in response.text


async def test_hashed_assets_are_cacheable_forever(editor_api: LiveServer) -> None:
    async with editor_api.client() as client:
        response = await client.get("/assets/app-1234.js")
    assert response.status_code == 200
    assert "immutable" in response.headers["cache-control"]


async def test_unknown_api_paths_answer_404_problem_not_the_editor(editor_api: LiveServer) -> None:
    async with editor_api.client() as client:
        get = await client.get("/api/v1/no-such-thing")
        post = await client.post("/api/v1/no-such-thing", json={})
    for response in (get, post):
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_paths_escaping_the_editor_directory_are_not_served(editor_api: LiveServer) -> None:
    async with editor_api.client() as client:
        response = await client.get("/..%2fsecret.txt")
    assert "outside the editor" not in response.text


async def test_api_lookalike_paths_do_not_fall_back_to_the_editor(editor_api: LiveServer) -> None:
    async with editor_api.client() as client:
        upper = await client.get("/API/V1/ME")
        doubled = await client.get(f"{editor_api.base_url}//api/v1/me")
    for response in (upper, doubled):
        assert response.status_code == 404
        assert "Flomation editor" not in response.text


async def test_the_docs_pages_are_served_as_markdown(editor_api: LiveServer) -> None:
    async with editor_api.client() as client:
        page = await client.get("/docs/integrations/postgres.md")
        missing = await client.get("/docs/no-such-page.md")
        escaping = await client.get("/docs/..%2f..%2fpyproject.toml")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/markdown")
    assert "postgres.query" in page.text
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert escaping.status_code == 404
