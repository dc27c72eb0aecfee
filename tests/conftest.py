"""Shared pytest fixtures. Each section names its owner; add yours as a separate section."""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# ------------------------------------------------------------------ PostgreSQL (versioning / refs store)


def _load_postgres_helper():  # tests/ is not a package (importlib import mode): load by path
    spec = importlib.util.spec_from_file_location("jzfs_tests_postgres", Path(__file__).with_name("postgres.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """One real PostgreSQL server for the whole session (started from Debian's package)."""
    with _load_postgres_helper().postgres_server() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server_url: str) -> str:
    """A fresh, empty database on the session's server, as a postgres:// URL."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return postgres_server_url.replace("/jzfs?", f"/{name}?")
