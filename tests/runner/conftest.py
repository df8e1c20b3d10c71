"""Runner end-to-end tests: short leases so that a lost runner's work comes back in seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from flomation.config import Settings
from tests.conftest import SHORT_LEASES, make_settings


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        tmp_path / "data",
        **SHORT_LEASES,
        runner_offline_after_seconds=10.0,
    )
