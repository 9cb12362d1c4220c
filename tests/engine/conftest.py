"""Fixtures shared by the engine tests."""

from __future__ import annotations

import pytest

from engine.data.store import MarketStore


@pytest.fixture
def store(tmp_path):
    with MarketStore.open(tmp_path / "ws" / "artha.duckdb") as opened:
        yield opened
