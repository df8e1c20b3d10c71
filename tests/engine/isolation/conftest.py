from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from flomation.engine.isolation import CodeRunner
from tests.engine.isolation.sandbox import sandbox_settings


@pytest.fixture(scope="module")
async def code_runner() -> AsyncIterator[CodeRunner]:
    runner = CodeRunner(sandbox_settings())
    await runner.start()
    yield runner
    await runner.aclose()
