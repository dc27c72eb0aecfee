"""The refs store against a REAL PostgreSQL server (fixture in tests/conftest.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from jiaozi_node.errors import RepoError
from jiaozi_node.store.refs import open_refstore
from jiaozi_node.store.refs_pg import PostgresRefStore


def _load(name):
    spec = importlib.util.spec_from_file_location(f"jzfs_{name}", Path(__file__).with_name(f"{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


pytestmark = pytest.mark.postgres


def test_postgres_behaviour(postgres_url):
    store = PostgresRefStore(postgres_url)
    _load("test_refs").exercise(store)
    store.close()


def test_open_refstore_postgres(postgres_url, tmp_path):
    s = open_refstore(postgres_url, tmp_path)
    s.create_repo("ds", now=1)
    s.close()
    again = open_refstore(postgres_url.replace("postgres://", "postgresql://"), tmp_path)
    assert again.list_repos() == ["ds"]
    again.close()


def test_unreachable_database_is_a_clear_error():
    with pytest.raises(RepoError, match="cannot open the PostgreSQL refs database"):
        PostgresRefStore("postgres://u:p@127.0.0.1:1/db?sslmode=disable&connect_timeout=2")

