"""Serving the editor's built files at `/`, with the single-page app's fallback to index.html,
and the documentation at `/docs/` (what the editor's "Docs" links of node types open).

The files ship inside the package (`flomation/api/static/editor`, and `flomation/docs` in a
wheel; a checkout serves its own `docs/`), so an installed package serves the editor with no
Node.js at run time. Paths under the API, the hooks, the docs and the health checks never fall
back to the editor: they answer 404 problem+json.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from flomation.errors import NotFound

EDITOR_DIR = Path(__file__).parent / "static" / "editor"
# A wheel carries the docs inside the package; a checkout (editable install) has them at its root.
_PACKAGED_DOCS = Path(__file__).parents[1] / "docs"
_CHECKOUT_DOCS = Path(__file__).parents[3] / "docs"
_NOT_EDITOR = ("api/", "hooks/", "docs/", "metrics", "healthz", "readyz")
# What the docs folder holds that a browser may be given, by suffix.
_DOC_TYPES = {".md": "text/markdown; charset=utf-8", ".png": "image/png"}

router = APIRouter(include_in_schema=False)


def _resolve(root: Path, path: str) -> Path | None:
    """The file under the editor directory for this path, refusing anything that escapes it."""
    root = root.resolve()
    candidate = (root / path).resolve()
    if candidate != root and root not in candidate.parents:
        return None
    return candidate if candidate.is_file() else None


def _editor_dir(request: Request) -> Path:
    configured: Path | None = request.app.state.settings.editor_dir
    return configured or EDITOR_DIR


def docs_dir() -> Path | None:
    for candidate in (_PACKAGED_DOCS, _CHECKOUT_DOCS):
        if candidate.is_dir():
            return candidate
    return None


@router.get("/docs/{path:path}")
async def docs_file(path: str) -> Response:
    """A page of the documentation as written (Markdown), or one of its screenshots."""
    root = docs_dir()
    found = _resolve(root, path) if root is not None else None
    media_type = _DOC_TYPES.get(found.suffix.lower()) if found is not None else None
    if found is None or media_type is None:
        raise NotFound(f"No documentation page at /docs/{path}")
    return FileResponse(found, media_type=media_type, headers={"Cache-Control": "no-cache"})


@router.api_route("/{path:path}", methods=["POST", "PUT", "PATCH", "DELETE"])
async def no_such_resource(path: str) -> Response:
    raise NotFound(f"No resource at /{path}")


@router.get("/{path:path}")
async def editor_file(request: Request, path: str) -> Response:
    # Compare case-insensitively and without leading slashes, so `//api/...` or `/API/...`
    # answer 404 like any unknown API path instead of the editor's page.
    if path.lstrip("/").lower().startswith(_NOT_EDITOR):
        raise NotFound(f"No resource at /{path}")
    root = _editor_dir(request)
    found = _resolve(root, path) if path else None
    if found is not None:
        # Hashed asset names never change; index.html and config.json must not be cached.
        immutable = path.startswith("assets/")
        headers = {
            "Cache-Control": "public, max-age=31536000, immutable" if immutable else "no-cache"
        }
        return FileResponse(found, headers=headers)
    index = root / "index.html"
    if not index.is_file():
        raise NotFound(
            "The editor is not built: run `make up` (it builds it) or `npm run build` in editor/"
        )
    return FileResponse(index, headers={"Cache-Control": "no-cache"})
