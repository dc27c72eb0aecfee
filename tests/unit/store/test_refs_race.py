"""Several writer PROCESSES racing on one branch (SQLite file; PostgreSQL = nodes sharing a DB)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jiaozi_node.store.refs import SqliteRefStore
from jiaozi_node.store.refs_pg import PostgresRefStore

WORKER = r"""
import json, sys
from pathlib import Path
from jiaozi_node.errors import RefConflict, NotFound
from jiaozi_node.ipld.cid import CID
from jiaozi_node.store.refs import open_refstore
db, wid, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = open_refstore(db, Path(sys.argv[4]))
done, conflicts = [], 0
for i in range(n):
    while True:
        try:
            head = store.get_ref("ds", "heads/main")
        except NotFound:
            head = None
        new = CID.of(f"{wid}/{i}/{head}".encode())
        try:
            store.update_ref("ds", "heads/main", new, expected=head)
        except RefConflict:
            conflicts += 1
            continue
        done.append([str(head) if head else None, str(new)])
        break
print(json.dumps({"done": done, "conflicts": conflicts}))
"""


def race(db: str, repo_path: Path, *, writers: int, per_writer: int) -> tuple[list[list], int]:
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, db, f"w{k}", str(per_writer), str(repo_path)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k in range(writers)]
    records, conflicts = [], 0
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        result = json.loads(out)
        records += result["done"]
        conflicts += result["conflicts"]
    return records, conflicts


def check_chain(records: list[list], final: str) -> None:
    """Every successful CAS must be one link of a single chain ending at `final`: none lost."""
    by_old = {}
    for old, new in records:
        assert old not in by_old, f"two writers both moved the branch from {old}"
        by_old[old] = new
    cur, seen = None, 0
    while cur in by_old:
        cur = by_old[cur]
        seen += 1
    assert seen == len(records)
    assert cur == final


def test_multiprocess_race_sqlite(tmp_path):
    s = SqliteRefStore(tmp_path / "refs.db")
    s.create_repo("ds", now=1)
    records, conflicts = race("sqlite", tmp_path, writers=4, per_writer=25)
    assert len(records) == 100
    check_chain(records, str(s.get_ref("ds", "heads/main")))
    s.close()


@pytest.mark.postgres
def test_multiprocess_race_postgres(postgres_url, tmp_path):
    """Six processes (as six nodes sharing one database) commit 20 times each to one branch."""
    s = PostgresRefStore(postgres_url)
    s.create_repo("ds", now=1)
    records, conflicts = race(postgres_url, tmp_path, writers=6, per_writer=20)
    assert len(records) == 120
    check_chain(records, str(s.get_ref("ds", "heads/main")))
    print(f"postgres race: 120 commits, {conflicts} CAS conflicts retried")
    s.close()
