"""Parquet previews (the optional `pyarrow` extra; the test extra installs it so this runs)."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq

from jiaozi_node.api.common import ApiContext
from jiaozi_node.api.server import RpcApp


def _call():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("webui_conftest", Path(__file__).with_name("conftest.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.call


class Counting:
    def __init__(self, store):
        self.store, self.bytes = store, 0

    def get(self, cid):
        data = self.store.get(cid)
        self.bytes += len(data)
        return data

    def __getattr__(self, name):
        return getattr(self.store, name)


def test_parquet_first_rows_read_by_range(tmp_node, tmp_path):
    n = 1_000_000
    table = pa.table({"id": pa.array(range(n), pa.int64()), "city": pa.array([f"c{i % 97}" for i in range(n)]),
                      "temp": pa.array([i * 0.5 for i in range(n)])})
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=50_000)
    data = buf.getvalue()
    d = tmp_path / "d"
    d.mkdir()
    (d / "t.parquet").write_bytes(data)
    dir_cid = tmp_node.add_path(str(d))
    app = RpcApp(ApiContext(tmp_node))
    html = _call()(app, "GET", f"/webui/ipfs/{dir_cid}?path=t.parquet").text
    assert "1000000 rows" in html and "<td class=\"\">c0</td>" in html or "c0" in html
    assert ">id<div class=\"type\">int64</div>" in html and "double" in html
    counting = Counting(tmp_node.blocks)
    app.webui.ctx.node.__dict__["blocks"] = counting  # the page reads through this getter now
    _call()(app, "GET", f"/webui/ipfs/{dir_cid}?path=t.parquet")
    assert 0 < counting.bytes < len(data) / 2  # footer + the first row group, not the whole file
