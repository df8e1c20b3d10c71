"""Request dependencies run on the event loop: a plain `def` dependency would be run by FastAPI
in a worker thread, a thread hop on every request."""

from __future__ import annotations

import inspect

import pytest
from fastapi.params import Depends

from flomation.api import deps
from flomation.flows import endpoints as flows_endpoints
from flomation.runners import signatures


@pytest.mark.parametrize(
    "alias",
    [
        deps.DatabaseDep,
        deps.SettingsDep,
        deps.SessionDep,
        deps.CurrentPrincipal,
        deps.EditorPrincipal,
        flows_endpoints.FlowPages,
        flows_endpoints.RevisionPages,
        signatures.SignedRunner,
    ],
)
def test_shared_dependencies_are_coroutines_or_async_generators(alias: object) -> None:
    [marker] = [m for m in getattr(alias, "__metadata__", ()) if isinstance(m, Depends)]
    dependency = marker.dependency
    assert inspect.iscoroutinefunction(dependency) or inspect.isasyncgenfunction(dependency)
