"""Proves the interop harness itself: real Kubo and real Helia agree, fetch from each other over
loopback inside the namespace, and CARs round-trip. jzfs is not involved here."""

from __future__ import annotations

import json
import socket

import pytest
from jzfs_interop import kubo_config, netns
from jzfs_interop.helia import HELIA_DEFAULT, KUBO_V0, KUBO_V1
from jzfs_interop.vectors import (
    cidv1_vectors,
    content,
    kubo_vectors,
    make_vector_tree,
    write_content,
)

# name in kubo_vectors.json -> size
SIZES = {
    "f_0": 0,
    "f_1": 1,
    "f_256KiB": 262144,
    "f_256KiB_plus1": 262145,
    "f_174chunks_plus1": 174 * 262144 + 1,
}


def test_runs_loopback_only(interop_confinement):
    if not interop_confinement.netns:
        pytest.skip(f"namespace not available here: {interop_confinement.how}")
    assert netns.interfaces() == ["lo"]
    # nothing but loopback is routable: a public address is unreachable, not merely filtered
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s, pytest.raises(OSError):
        s.connect(("192.0.2.1", 9))  # TEST-NET-1, never routed; connect() only picks a route


def test_kubo_config_is_confined(kubo):
    cfg = json.loads((kubo.repo / "config").read_text())
    kubo_config.assert_confined(cfg)
    assert cfg["Bootstrap"] == [] and cfg["Discovery"]["MDNS"]["Enabled"] is False
    assert kubo.multiaddrs == [f"/ip4/127.0.0.1/tcp/{kubo.tcp_port}"]
    assert kubo.peer_id.startswith("Qm")  # Kubo's default RSA-2048 identity


def test_kubo_ed25519_identity(kubo_ed25519):
    assert kubo_ed25519.peer_id.startswith("12D3KooW")


def test_ed25519_identity_is_deterministic():
    seed = kubo_config.deterministic_seed("a")
    assert kubo_config.ed25519_identity(seed) == kubo_config.ed25519_identity(seed)


def test_helia_is_confined(helia):
    assert all(a.startswith("/ip4/127.0.0.1/tcp/") for a in helia.multiaddrs)
    assert sorted(helia.protocols) == ["/ipfs/bitswap/1.2.0", "/ipfs/id/1.0.0", "/ipfs/ping/1.0.0"]


@pytest.mark.parametrize("name", list(SIZES))
def test_kubo_and_helia_agree_with_vectors(name, kubo_session, helia_offline, tmp_path):
    size = SIZES[name]
    path = write_content(tmp_path / name, size)
    expected = kubo_vectors()["files"][name]["cid_v0"]
    assert kubo_session.add_file(path) == expected
    assert kubo_session.hash_file(path) == expected
    assert helia_offline.add_file(path, KUBO_V0, only_hash=True) == expected


@pytest.mark.parametrize("name", ["f_1", "f_256KiB_plus1"])
def test_helia_cidv1_profiles(name, helia_offline, tmp_path):
    path = write_content(tmp_path / name, SIZES[name])
    profiles = cidv1_vectors()["profiles"]
    assert helia_offline.add_file(path, KUBO_V1) == profiles["kubo_cid_version_1"]["files"][name]["cid"]
    v1_2025 = profiles["helia_default"]["files"][name]["cid"]
    assert helia_offline.add_file(path, HELIA_DEFAULT) == v1_2025
    assert helia_offline.add_file(path) == v1_2025  # no options = Helia's defaults


def test_helia_tree_matches_kubo_vector(helia_offline, tmp_path):
    tree = make_vector_tree(tmp_path)
    v = kubo_vectors()["tree"]
    res = helia_offline.add_dir(tree, KUBO_V0, only_hash=True)
    assert res["cid"] == v["root_cid_v0"]
    by_path = {e["path"]: e["cid"] for e in res["entries"]}
    # (the importer yields no entry for an empty directory, but the root CID above includes it)
    for rel in ("a.txt", "b.bin", "sub/c.txt", "sub/empty", "sub/deeper/d.bin", "sub"):
        assert by_path[f"tree/{rel}"] == v[rel], rel
    wrapped = helia_offline.add_dir(tree, {**KUBO_V0, "wrapWithDirectory": True}, only_hash=True)
    assert wrapped["cid"] != v["root_cid_v0"] and wrapped["entries"][-1]["path"] == ""


def test_helia_hamt_threshold_option(helia_offline, tmp_path):
    d = tmp_path / "many"
    d.mkdir()
    for i in range(50):
        (d / f"file-{i:03d}").write_bytes(b"x%d" % i)
    flat = helia_offline.add_dir(d, KUBO_V0, only_hash=True)["cid"]
    sharded = helia_offline.add_dir(d, {**KUBO_V0, "shardSplitThresholdBytes": 100},
                                    only_hash=True)["cid"]
    assert flat != sharded


def test_helia_rabin_and_trickle_options(helia_offline, tmp_path):
    path = write_content(tmp_path / "f", 2_000_000)
    base = helia_offline.add_file(path, KUBO_V0, only_hash=True)
    rabin = helia_offline.add_file(path, {**KUBO_V0, "chunker": "rabin", "avgChunkSize": 65536},
                                   only_hash=True)
    # 8 chunks: with 174 links trickle and balanced give the same one-level DAG, so use 4
    balanced4 = helia_offline.add_file(path, {**KUBO_V0, "maxChildren": 4}, only_hash=True)
    trickle4 = helia_offline.add_file(path, {**KUBO_V0, "layout": "trickle", "maxChildren": 4},
                                      only_hash=True)
    assert len({base, rabin, balanced4, trickle4}) == 4


def test_kubo_fetches_from_helia(kubo, helia, tmp_path):
    data = content(3 * 262144 + 17)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    cid = helia.add_file(src, KUBO_V0)
    assert cid == kubo.hash_file(src)
    kubo.connect(helia.multiaddr)
    assert kubo.download(cid, tmp_path / "dl.bin", timeout=30) == len(data)
    assert (tmp_path / "dl.bin").read_bytes() == data


def test_kubo_pins_from_helia_cidv1(kubo, helia, tmp_path):
    src = write_content(tmp_path / "src.bin", 1_000_000)
    cid = helia.add_file(src, HELIA_DEFAULT)
    helia.dial(kubo.multiaddr)  # dial in the other direction this time
    kubo.pin_cid(cid, timeout=30)
    assert kubo.download(cid, tmp_path / "dl.bin", timeout=30) == 1_000_000


def test_helia_fetches_from_kubo(kubo_ed25519, helia, tmp_path):
    data = content(1_048_576 + 5)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    cid = kubo_ed25519.add_file(src)
    assert helia.dial(kubo_ed25519.multiaddr) == kubo_ed25519.peer_id
    assert helia.cat(cid, tmp_path / "dl.bin", timeout=30) == len(data)
    assert (tmp_path / "dl.bin").read_bytes() == data
    assert helia.peer_id in kubo_ed25519.list_peer_ids()


def test_helia_fetches_tree_from_kubo_rsa(kubo, helia_factory, tmp_path):
    # Kubo's AddFile is files only: Helia A adds a tree, Kubo pins it from A, Helia B gets it
    # from Kubo alone.
    a, b = helia_factory(), helia_factory()
    tree = make_vector_tree(tmp_path / "in")
    root = a.add_dir(tree, KUBO_V0)["cid"]
    assert root == kubo_vectors()["tree"]["root_cid_v0"]
    kubo.connect(a.multiaddr)
    kubo.pin_cid(root, timeout=30)
    a.stop()
    b.dial(kubo.multiaddr)
    assert b.get(root, tmp_path / "out", timeout=30) == 5
    assert (tmp_path / "out" / "sub" / "deeper" / "d.bin").read_bytes() == content(300000)
    assert (tmp_path / "out" / "emptydir").is_dir()


def test_unknown_cid_times_out(kubo, helia):
    from jzfs_interop import PeerTimeout

    missing = "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n"
    kubo.connect(helia.multiaddr)
    with pytest.raises(PeerTimeout):
        helia.cat(missing, timeout=1)
    with pytest.raises(PeerTimeout):
        kubo.download(missing, "/dev/null", timeout=1)
    kubo.list_peers()  # the worker is still responsive after a blocked Download


def test_car_roundtrip_in_helia(helia_factory, tmp_path):
    a, b = helia_factory(offline=True), helia_factory(offline=True)
    tree = make_vector_tree(tmp_path / "in")
    root = a.add_dir(tree, KUBO_V0)["cid"]
    car = tmp_path / "tree.car"
    assert a.export_car(root, car) > 0
    assert b.import_car(car) == [root]
    assert b.get(root, tmp_path / "out", timeout=5) == 5
    assert (tmp_path / "out" / "b.bin").read_bytes() == content(1000)


def test_no_package_collision_with_pylibp2p_interop():
    """py-libp2p ships a top-level namespace package ``interop`` (interop/perf, interop/transport).
    Our harness is importable as ``jzfs_interop`` only, and libp2p's subpackages stay reachable."""
    import importlib.util
    from pathlib import Path

    import jzfs_interop

    here = Path(__file__).resolve().parent
    assert Path(jzfs_interop.__file__).resolve().parent == here / "jzfs_interop"
    assert not (here / "__init__.py").exists()  # never a regular package named `interop`
    for sub in ("perf", "transport"):
        assert not (here / sub).exists(), f"interop/{sub} would shadow py-libp2p's interop.{sub}"
        spec = importlib.util.find_spec(f"interop.{sub}")
        if spec is not None:  # present when py-libp2p is installed
            assert all("site-packages" in p for p in spec.submodule_search_locations)
