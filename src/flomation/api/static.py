"""Serving the editor's built files at `/`, with the single-page app's fallback to index.html.

The files ship inside the package (`flomation/api/static/editor`), so an installed package
serves the editor with no Node.js at run time. Paths under the API, the hooks and the health
checks never fall back to the editor: they answer 404 problem+json.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from flomation.errors import NotFound

EDITOR_DIR = Path(__file__).parent / "static" / "editor"
_NOT_EDITOR = ("api/", "hooks/", "metrics", "healthz", "readyz")

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
