import pytest

from jiaozi_node.car.reader import read_car
from jiaozi_node.car.writer import encode_header, encode_section, write_car
from jiaozi_node.config import CarLimits
from jiaozi_node.errors import CodecError, HashMismatch, InvalidInput, NotFound
from jiaozi_node.ipld import dagcbor, dagjson
from jiaozi_node.ipld.block import Block
from jiaozi_node.ipld.cid import CID, RAW
from jiaozi_node.node.dag import (
    dag_export,
    dag_get,
    dag_import,
    dag_put,
    dag_stat,
    encode_value,
)
from jiaozi_node.store.base import MemoryBlockstore
from jiaozi_node.unixfs.exporter_testing import DagBuilder


class FakePins:
    def __init__(self, store):
        self.store = store
        self.pinned = []

    def add(self, cid, recursive=True):
        from jiaozi_node.car.traverse import dag_blocks

        for _ in dag_blocks(self.store, cid):
            pass
        self.pinned.append(cid)


def test_put_matches_kubo_cid_for_simple_objects():
    store = MemoryBlockstore()
    # `echo '{"hello":"world"}' | ipfs dag put` gives this CID (dag-cbor, sha2-256, CIDv1)
    cid = dag_put(store, b'{"hello":"world"}')
    assert str(cid) == "bafyreidykglsfhoixmivffc5uwhcgshx4j465xwqntbmu43nb2dzqwfvae"
    assert dagcbor.decode(store.get(cid)) == {"hello": "world"}
    j = dag_put(store, b'{"b":1,"a":[1,2]}', store_codec="dag-json")
    assert store.get(j) == b'{"a":[1,2],"b":1}' and j.codec == 0x0129


def test_put_codecs_and_errors():
    store = MemoryBlockstore()
    leaf = dag_put(store, b'"leaf"')
    pbj = dagjson.encode({"Data": b"\x08\x01", "Links": [{"Hash": leaf, "Name": "x", "Tsize": 5}]})
    pb = dag_put(store, pbj, store_codec="dag-pb")
    assert pb.codec == 0x70
    v0 = dag_put(store, pbj, store_codec="dag-pb", cid_version=0)
    assert str(v0).startswith("Qm")
    plain = dag_put(store, b'{"/": "not a link"}', input_codec="json", store_codec="dag-cbor")
    with pytest.raises(CodecError):
        dag_put(store, b'{"/": "not a link"}')  # dag-json: "/" must be a valid CID
    assert dagcbor.decode(store.get(plain)) == {"/": "not a link"}
    cb = dag_put(store, dagcbor.encode({"a": 1}), input_codec="dag-cbor")
    assert dagcbor.decode(store.get(cb)) == {"a": 1}
    with pytest.raises(CodecError):
        dag_put(store, b"{nope")
    with pytest.raises(InvalidInput):
        dag_put(store, b"{}", store_codec="raw")
    with pytest.raises(InvalidInput):
        dag_put(store, b'{"Other": 1}', store_codec="dag-pb")
    with pytest.raises(InvalidInput):
        dag_put(store, b"{}", hash_name="md5")


def test_get_paths_through_maps_lists_links_and_unixfs():
    dag = DagBuilder()
    f = dag.raw(b"file bytes")
    d = dag.directory({"f.txt": f})
    h = dag.hamt({f"n{i}": dag.raw(bytes([i])) for i in range(250)})
    store = dag.store
    inner = dag_put(store, dagjson.encode({"deep": {"list": [10, 20, {"x": d}]}}))
    outer = dag_put(store, dagjson.encode({"child": inner, "name": "outer", "shard": h}))
    assert dag_get(store, outer, ["name"])[0] == "outer"
    assert dag_get(store, outer, ["child", "deep", "list", "1"])[0] == 20
    value, at = dag_get(store, outer, ["child", "deep", "list", "2", "x"])
    assert at == d and value["Data"] == b"\x08\x01" and value["Links"][0]["Name"] == "f.txt"
    value, at = dag_get(store, outer, ["child", "deep", "list", "2", "x", "f.txt"])
    assert at == f and value == b"file bytes"
    value, at = dag_get(store, outer, ["shard", "n7"])
    assert value == bytes([7])
    assert dag_get(store, outer, ["child", "deep", "list", "2", "x", "Links", "0", "Name"])[0] == "f.txt"
    for bad in (["nope"], ["child", "deep", "list", "9"], ["name", "x"], ["child", "deep", "list", "2", "x", "zz"]):
        with pytest.raises(NotFound):
            dag_get(store, outer, bad)
    with pytest.raises(NotFound):
        dag_get(store, CID.of(b"absent"), [])


def test_output_encodings():
    v = {"b": b"\x01", "a": CID.of(b"x")}
    assert encode_value(v, "dag-json").startswith(b'{"a":{"/":"bafkrei')
    assert dagcbor.decode(encode_value(v, "dag-cbor")) == v
    with pytest.raises(InvalidInput):
        encode_value(v, "json")


def test_stat_counts_distinct_blocks():
    dag = DagBuilder()
    f = dag.chunked(b"x" * 1000, chunk=100, width=4)
    d = dag.directory({"a": f, "b": f})
    st = dag_stat(dag.store, d)
    assert st.num_blocks == len(dag.store)
    assert st.size == sum(len(dag.store.get(c)) for c in dag.store.cids())


def test_export_import_round_trip_and_pins():
    dag = DagBuilder()
    f = dag.chunked(bytes(range(256)) * 20, chunk=300, width=3)
    root = dag.directory({"f": f, "g": dag.raw(b"g")})
    car = b"".join(dag_export(dag.store, root))
    header, blocks = read_car(car)
    assert header.roots == (root,) and blocks[0].cid == root and len(blocks) == len(dag.store)
    target = MemoryBlockstore()
    pins = FakePins(target)
    res = dag_import(target, [car[i:i + 1000] for i in range(0, len(car), 1000)], pins=pins)
    assert (res.roots, res.blocks, res.pinned) == ((root,), len(dag.store), [(root, None)])
    assert {c.multihash for c in target.cids()} == {c.multihash for c in dag.store.cids()}
    assert pins.pinned == [root]
    assert dag_import(MemoryBlockstore(), [car], pins=FakePins(None), pin_roots=False).pinned == []


def test_export_missing_root_fails_before_any_output():
    with pytest.raises(NotFound):
        dag_export(MemoryBlockstore(), CID.of(b"absent"))


def test_import_of_broken_car_stores_nothing():
    good = [Block.create(bytes([i]) * 50, codec=RAW) for i in range(30)]
    car = b"".join(write_car([good[0].cid], good))
    for broken in (car[:-7], car + b"\x05\x01", car[:200]):
        store = MemoryBlockstore()
        with pytest.raises(CodecError):
            dag_import(store, [broken])
        assert len(store) == 0
    lying = b"".join(write_car([good[0].cid], good[:20])) + encode_section(good[20].cid, b"evil")
    store = MemoryBlockstore()
    with pytest.raises(HashMismatch, match=str(good[20].cid)):
        dag_import(store, [lying])
    assert len(store) == 0


def test_import_spills_to_disk_past_memory_limit(tmp_path):
    good = [Block.create(bytes([i]) * 1000, codec=RAW) for i in range(50)]
    car = b"".join(write_car([good[0].cid], good))
    store = MemoryBlockstore()
    res = dag_import(store, [car], limits=CarLimits(max_staging_memory_bytes=5000),
                     spill_dir=str(tmp_path))
    assert res.blocks == 50 and res.bytes == 50_000
    assert all(store.get(b.cid) == b.data for b in good)


def test_import_incomplete_dag_reports_pin_error():
    dag = DagBuilder()
    f = dag.file([dag.raw(b"a"), dag.raw(b"b")])
    only_root = encode_header([f]) + encode_section(f, dag.store.get(f))
    store = MemoryBlockstore()
    res = dag_import(store, [only_root], pins=FakePins(store))
    assert res.blocks == 1 and res.pinned[0][0] == f and "not found" in res.pinned[0][1]


def test_put_input_limit():
    from jiaozi_node.config import IPLD_LIMITS
    from jiaozi_node.errors import LimitExceeded

    with pytest.raises(LimitExceeded, match="limit"):
        dag_put(MemoryBlockstore(), b" " * (IPLD_LIMITS.max_dag_put_input_bytes + 1))
