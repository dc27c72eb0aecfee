"""CAR files between jzfs and real Helia (@helia/car + @ipld/car), both directions.

Helia -> jzfs: a tree Helia imports (multi-level files, a HAMT-sharded directory, empties) is
exported by Helia, imported with `jzfs dag import`, then read with `jzfs cat/ls/get` and compared
byte for byte with the source files. This also proves our HAMT hash/layout reading against
Helia's real shards.

jzfs -> Helia: a DAG jzfs builds (its importer's files, a hand-built HAMT, a symlink-free tree)
is written by `jzfs dag export`, imported by Helia, and read back through Helia's UnixFS.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jzfs_interop.helia import KUBO_V0, KUBO_V1
from jzfs_interop.vectors import content

from jiaozi_node.car.reader import read_car
from jiaozi_node.cli.main import main
from jiaozi_node.config import UNIXFS_V0_2015, UNIXFS_V1_2025
from jiaozi_node.node.dag import dag_export
from jiaozi_node.unixfs.exporter_testing import DagBuilder
from jiaozi_node.unixfs.importer import import_bytes

# Small chunks and fanout so a few hundred KB already make three-level DAGs.
SMALL = {"chunker": "fixed", "chunkSize": 1024, "layout": "balanced", "maxChildren": 11}


@pytest.fixture()
def jzfs(tmp_path, monkeypatch, capsysbinary):
    monkeypatch.setenv("JZFS_PATH", str(tmp_path / "jzfs-repo"))
    assert main(["init"]) == 0
    capsysbinary.readouterr()

    def run(*argv: str, rc: int = 0) -> bytes:
        code = main(list(argv))
        out, err = capsysbinary.readouterr()
        assert code == rc, (argv, err.decode())
        return out

    return run


def make_tree(root: Path) -> dict[str, bytes]:
    files = {
        "big.bin": content(200_000),
        "sub/deeper/mid.bin": content(5000),
        "sub/empty.txt": b"",
        "hello.txt": b"hello\n",
    }
    files.update({f"many/file-{i:03}.txt": f"file {i}\n".encode() for i in range(120)})
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    (root / "emptydir").mkdir()
    return files


@pytest.mark.parametrize("options", [
    {**KUBO_V0, **SMALL, "shardSplitThresholdBytes": 1000},
    {**KUBO_V1, **SMALL, "shardSplitThresholdBytes": 1000, "layout": "trickle"},
], ids=["v0-pb-leaves-hamt", "v1-raw-leaves-trickle-hamt"])
def test_helia_car_into_jzfs(helia_offline, jzfs, tmp_path, options):
    src = tmp_path / "src"
    files = make_tree(src)
    root = helia_offline.add_dir(src, options)["cid"]
    car = tmp_path / "helia.car"
    helia_offline.export_car(root, car)
    out = jzfs("dag", "import", str(car), "--stats").decode()
    assert f"Pinned root\t{root}\tsuccess" in out

    # `many/` went over the 1000-byte threshold: Helia sharded it, and we read its HAMT
    st = json.loads(jzfs("ls", "--json", f"{root}/many"))["Objects"][0]["Links"]
    assert sorted(e["Name"] for e in st) == sorted(n.split("/")[1] for n in files if n.startswith("many/"))
    for rel, data in files.items():
        assert jzfs("cat", f"/ipfs/{root}/{rel}") == data, rel
    assert jzfs("cat", f"{root}/big.bin", "--offset", "99999", "--length", "12345") == \
        files["big.bin"][99999:99999 + 12345]
    jzfs("get", str(root), "-o", str(tmp_path / "out"))
    for rel, data in files.items():
        assert (tmp_path / "out" / rel).read_bytes() == data, rel
    assert (tmp_path / "out" / "emptydir").is_dir()

    # Re-exported by jzfs: Helia's DFS pre-order exactly, minus the repeats Helia writes for blocks
    # linked twice (we write `dups=n`, each block once, at its first occurrence)
    ours = tmp_path / "ours.car"
    jzfs("dag", "export", str(root), "-o", str(ours))
    h_header, h_blocks = read_car(car.read_bytes())
    j_header, j_blocks = read_car(ours.read_bytes())
    assert j_header.roots == h_header.roots
    assert {b.cid.multihash for b in j_blocks} == {b.cid.multihash for b in h_blocks}
    assert len(j_blocks) == len({b.cid for b in j_blocks})
    first_seen = list(dict.fromkeys(b.cid for b in h_blocks))
    assert [b.cid for b in j_blocks] == first_seen


def test_jzfs_car_into_helia(helia_offline, tmp_path):
    dag = DagBuilder()
    big = content(300_000)
    v0_root, blocks, _ = import_bytes(big, UNIXFS_V0_2015)
    dag.store.put_many(blocks)
    mid = content(3_000_000)[-70_000:]
    v1_root, blocks, _ = import_bytes(mid, UNIXFS_V1_2025.with_overrides(chunker="size-4096", max_links=5))
    dag.store.put_many(blocks)
    hamt_files = {f"entry-{i}.txt": dag.raw(f"entry {i}".encode()) for i in range(400)}
    shard = dag.hamt(hamt_files)
    root = dag.directory({"kubo-profile.bin": v0_root, "small-links.bin": v1_root, "sharded": shard,
                          "hello.txt": dag.raw(b"hello from jzfs\n")})
    car = tmp_path / "jzfs.car"
    car.write_bytes(b"".join(dag_export(dag.store, root)))

    assert helia_offline.import_car(car) == [str(root)]
    assert helia_offline.cat(str(v0_root)) == big
    assert helia_offline.cat(str(v1_root), offset=1000, length=9000) == mid[1000:10000]
    # Helia's UnixFS walks our whole tree, our HAMT included (the harness `get` writes it out)
    helia_offline.get(str(root), tmp_path / "out", timeout=30)
    out = tmp_path / "out"
    assert (out / "kubo-profile.bin").read_bytes() == big
    assert (out / "small-links.bin").read_bytes() == mid
    assert (out / "hello.txt").read_bytes() == b"hello from jzfs\n"
    assert sorted(p.name for p in (out / "sharded").iterdir()) == sorted(hamt_files)
    assert (out / "sharded" / "entry-321.txt").read_bytes() == b"entry 321"


def test_jzfs_cli_export_imports_in_helia(helia_offline, jzfs, tmp_path):
    src = tmp_path / "one.bin"
    src.write_bytes(content(123_456))
    # Helia computes the DAG; jzfs imports it, exports a path-scoped CAR; Helia reads that
    cid = helia_offline.add_file(src, {**KUBO_V1, **SMALL})
    car = tmp_path / "a.car"
    helia_offline.export_car(cid, car)
    jzfs("dag", "import", str(car))
    again = tmp_path / "b.car"
    again.write_bytes(jzfs("dag", "export", cid))
    assert helia_offline.import_car(again) == [cid]
    assert helia_offline.cat(cid) == content(123_456)


def test_jzfs_export_is_byte_identical_to_helia_without_repeats(helia_offline, jzfs, tmp_path):
    from jzfs_interop.vectors import make_vector_tree

    root = helia_offline.add_dir(make_vector_tree(tmp_path / "in"), KUBO_V0)["cid"]
    car = tmp_path / "helia.car"
    helia_offline.export_car(root, car)
    jzfs("dag", "import", str(car))
    assert jzfs("dag", "export", root) == car.read_bytes()
