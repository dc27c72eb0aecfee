from __future__ import annotations

import io
import re
import tarfile

from jiaozi_node.car.reader import read_car


def test_root_listing_sorted_with_sizes_cids_and_downloads(demo):
    html = demo["get"]("/webui/d/weather/tree?ref=main").text
    names = re.findall(r'<td class="name"><a href="[^"]*">([^<]*)</a>', html)
    assert names == sorted(names) and "data.csv" in names and "many" in names
    assert 'data-copy="' in html and "format=car" in html and "format=tar" in html


def test_hamt_directory_is_paginated(demo):
    r = demo["get"]("/webui/d/weather/tree?ref=main&path=many")
    assert "6000 entries" in r.text and "(HAMT-sharded)" in r.text
    assert r.text.count('<tr class="file">') == 100 and "f00000.txt" in r.text and "page 1 of 60" in r.text
    p2 = demo["get"]("/webui/d/weather/tree?ref=main&path=many&page=2").text
    assert "f00100.txt" in p2 and "f00099.txt" not in p2 and "f00200.txt" not in p2


def test_tree_at_a_cid_and_file_download(demo):
    node = demo["node"]
    root = node.versioning.load_commit(demo["commits"]["first"]).root
    html = demo["get"](f"/webui/ipfs/{root}?path=sub").text
    assert "inner.txt" in html
    m = re.search(r'href="/webui/dl/([a-z0-9]+)\?name=inner.txt"', html)
    r = demo["get"](f"/webui/dl/{m.group(1)}?name=inner.txt")
    assert r.body == b"inner\n" and "attachment" in r.headers["content-disposition"]


def test_directory_as_tar_and_car(demo):
    node = demo["node"]
    root = node.versioning.load_commit(demo["commits"]["first"]).root
    sub = node.files.resolve(f"{root}/sub")
    r = demo["get"](f"/webui/dl/{sub}?format=tar&name=sub")
    with tarfile.open(fileobj=io.BytesIO(r.body)) as tf:
        assert tf.getnames() == ["sub", "sub/inner.txt"]
        assert tf.extractfile("sub/inner.txt").read() == b"inner\n"
    car = demo["get"](f"/webui/dl/{sub}?format=car&name=sub")
    header, blocks = read_car(car.body)
    assert header.roots == (sub,) and {b.cid for b in blocks} >= {sub}
    assert car.headers["content-type"] == "application/vnd.ipld.car"


def test_big_hamt_directory_every_page_reachable(demo):
    """20 000 entries here (quick); bench_webui.py times the 100 000-entry case."""
    from jiaozi_node.unixfs.exporter_testing import DagBuilder

    d = DagBuilder()
    leaf = d.raw(b"x")
    big = d.hamt({f"e{i:06d}": leaf for i in range(20_000)})
    from jiaozi_node.ipld.block import Block

    demo["node"].blocks.put_many([Block(c, d.store.get(c)) for c in d.store.cids()])
    html = demo["get"](f"/webui/ipfs/{big}?page=200").text
    assert "20000 entries (HAMT-sharded)" in html and "page 200 of 200" in html
    assert "e019900" in html and "e019999" in html and "e019899" not in html
