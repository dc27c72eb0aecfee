"""versioning/names.py: repository and ref name rules (shared by the refs stores and sync_core)."""

from __future__ import annotations

import pytest

from jiaozi_node.config import VERSIONING_LIMITS
from jiaozi_node.errors import InvalidInput
from jiaozi_node.versioning.names import check_ref_name, check_repo_name

MAX_NAME_LEN = VERSIONING_LIMITS.max_ref_name_len


def test_names() -> None:
    assert check_repo_name("weather_2026.v1") == "weather_2026.v1"
    assert check_ref_name("remotes/origin/main") == "remotes/origin/main"
    for bad in ("", "-x", "a b", "a@b", "x" * (MAX_NAME_LEN + 1), "a/b"):
        with pytest.raises(InvalidInput):
            check_repo_name(bad)
    for bad in ("heads/../x", "heads//x", "heads/x/", "heads/x.lock", "heads/a b", "/heads"):
        with pytest.raises(InvalidInput):
            check_ref_name(bad)
