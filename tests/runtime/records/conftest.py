"""Fixtures and helpers for the records tests (real SQLite files under tmp_path)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from vitad.config.runtime_settings import RuntimeSettings
from vitad.runtime.records import RecordStore

DAY = 86400.0


def sql(db: Path, query: str, *args: Any) -> list[tuple[Any, ...]]:
    """Run ``query`` on ``db`` with an independent connection (what another process sees)."""
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(query, args).fetchall()


@pytest.fixture
def store(runtime: RuntimeSettings) -> Iterator[RecordStore]:
    """A started store in ``runtime.state_dir``; closed after the test."""
    s = RecordStore(runtime)
    s.start()
    yield s
    s.close()
