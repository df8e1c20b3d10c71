from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.connections.fakes import registered


@pytest.fixture(autouse=True)
def fake_connection_types() -> Iterator[None]:
    with registered():
        yield
