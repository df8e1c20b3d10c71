from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from flomation.engine.isolation import CodeRunner
from tests.engine.isolation.sandbox import sandbox_settings


@pytest.fixture(scope="module", params=["sandbox", "fork"])
async def code_runner(request: pytest.FixtureRequest) -> AsyncIterator[CodeRunner]:
    """The code runner, once with a bubblewrap sandbox per run and once without (the
    fallback where bubblewrap is missing): both must keep the promises of these tests."""
    choice = "require" if request.param == "sandbox" else "off"
    runner = CodeRunner(sandbox_settings(sandbox=choice))
    await runner.start()
    yield runner
    await runner.aclose()
