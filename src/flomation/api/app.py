"""The app factory. The only place that assembles routers.

Every router is authenticated by default: it is included with the `get_principal` dependency
unless it is on the short public list below (health, login/sign-up, webhooks, form triggers'
pages, the runner's signed endpoints, the OpenAPI document and the editor's static files).
Authorisation is attached to routes, not to path prefixes, so no path trick reaches a protected
handler unauthenticated.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from flomation import __version__
from flomation.api import health, static
from flomation.api.bodies import JsonBodyGuardMiddleware
from flomation.api.deps import get_principal
from flomation.api.middleware import (
    BodyReadTimeoutMiddleware,
    BodySizeLimitMiddleware,
    RequestIdMiddleware,
)
from flomation.api.openapi import document_components
from flomation.api.problems import (
    PROBLEM_RESPONSES,
    Problem,
    UnexpectedErrorMiddleware,
    install_problem_handlers,
)
from flomation.config import Settings, get_settings
from flomation.db.session import Database

log = logging.getLogger("flomation.api")

API_PREFIX = "/api/v1"

# Background services started with the app (queue maintenance, notifiers, Launch in `up`...).
LifespanHook = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def _executions_lifespan(app: FastAPI) -> AbstractAsyncContextManager[None]:
    from flomation.executions.maintenance import executions_lifespan

    return executions_lifespan(app)


def _protected_routers() -> list[APIRouter]:
    from flomation.auth.endpoints import router as auth_router
    from flomation.connections.endpoints import router as connections_router
    from flomation.executions.endpoints import router as executions_router
    from flomation.flows.endpoints import router as flows_router
    from flomation.runners.endpoints import router as runners_router
    from flomation.secrets.endpoints import router as secrets_router
    from flomation.triggers.endpoints import router as triggers_router

    # Routes are matched in order, router by router: the hot ones come first (requesting an
    # execution is the one a client repeats most).
    return [
        executions_router,
        flows_router,
        runners_router,
        auth_router,
        secrets_router,
        connections_router,
        triggers_router,
    ]


def _public_api_routers() -> list[APIRouter]:
    from flomation.auth.endpoints import public_router as auth_public_router
    from flomation.connections.endpoints import test_router as connections_test_router
    from flomation.executions.endpoints import stream_router as executions_stream_router
    from flomation.runners.endpoints import runner_router

    # The event stream and the connection test authenticate themselves in a short transaction
    # (no transaction while they wait); see their endpoints modules.
    return [auth_public_router, runner_router, executions_stream_router, connections_test_router]


def _documented_components() -> dict[str, object]:
    """Bodies that routes refer to by name (see `flomation.api.openapi`)."""
    from flomation.executions.schemas import ExecutionStreamEvent

    return {"ExecutionStreamEvent": ExecutionStreamEvent}


def _root_routers() -> list[APIRouter]:
    """Public routers outside /api/v1 (health; webhooks are added by the triggers domain)."""
    from flomation.executions.metrics import router as metrics_router
    from flomation.triggers.forms import router as forms_router
    from flomation.triggers.webhooks import router as webhooks_router

    return [health.router, metrics_router, webhooks_router, forms_router]


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    lifespan_hooks: list[LifespanHook] | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    database = database or Database.for_api(settings)
    hooks = list(lifespan_hooks or [])
    hooks.insert(0, _executions_lifespan)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for hook in hooks:
                await stack.enter_async_context(hook(app))
            yield
        await database.dispose()

    app = FastAPI(
        title="Flomation API",
        version=__version__,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
        responses=PROBLEM_RESPONSES,
    )
    app.state.settings = settings
    app.state.database = database
    # Set when the server begins to stop: long polls answer at once instead of holding the
    # shutdown until they time out.
    app.state.stopping = asyncio.Event()

    install_problem_handlers(app)
    document_components(app, {"Problem": Problem, **_documented_components()})
    for router in _protected_routers():
        app.include_router(router, prefix=API_PREFIX, dependencies=[Depends(get_principal)])
    for router in _public_api_routers():
        app.include_router(router, prefix=API_PREFIX)
    for router in _root_routers():
        app.include_router(router)
    # Last: the editor's catch-all must not shadow any other route.
    app.include_router(static.router)

    # Added innermost first: a request meets the read timeout, then the size limit, then the JSON
    # check, so the check reads a body that is bounded in time and size.
    app.add_middleware(JsonBodyGuardMiddleware, max_depth=settings.json_max_depth)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        webhook_max_bytes=settings.webhook_max_body_bytes,
    )
    app.add_middleware(
        BodyReadTimeoutMiddleware,
        timeout_s=settings.body_read_timeout_s,
        idle_timeout_s=settings.body_read_idle_timeout_s,
    )
    # Inside CORS, so that a 500 still carries the CORS headers the editor needs to read it.
    app.add_middleware(UnexpectedErrorMiddleware)
    if settings.allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.allowed_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.add_middleware(RequestIdMiddleware)
    return app
