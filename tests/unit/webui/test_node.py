from __future__ import annotations

import json
import re


def _token(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)


def test_node_page_offline(demo):
    html = demo["get"]("/webui/node").text
    assert demo["node"].repo.peer_id in html and "offline" in html and "Run GC" in html


def test_stats_and_repo_json(demo):
    s = json.loads(demo["get"]("/webui/node/stats").body)
    assert set(s) >= {"t", "in", "out"}
    r = json.loads(demo["get"]("/webui/node/repo").body)
    assert r["NumObjects"] > 100 and r["RepoSize"] > 0


def test_pin_unpin_and_gc_by_post(demo):
    node = demo["node"]
    cid = node.add_bytes(b"pin me from the web ui", pin=False)
    token = _token(demo["get"]("/webui/node").text)
    h = {"origin": "http://127.0.0.1:5001"}
    r = demo["call"]("POST", "/webui/node/pin", headers=h, body=f"csrf={token}&action=add&cid={cid}".encode())
    assert r.status == 303 and (cid, "recursive") in node.pins.ls("recursive")
    assert str(cid) in demo["get"]("/webui/node").text
    r = demo["call"]("POST", "/webui/node/pin", headers=h, body=f"csrf={token}&action=rm&cid={cid}".encode())
    assert r.status == 303 and (cid, "recursive") not in node.pins.ls("recursive")
    r = demo["call"]("POST", "/webui/node/gc", headers=h, body=f"csrf={token}".encode())
    assert r.status == 303 and "garbage+collection+removed" in r.headers["location"]
    assert not node.blocks.has(cid)
    # the dataset survives GC (refs are roots)
    assert demo["get"]("/webui/d/weather/tree?ref=main").status == 200
    assert demo["call"]("POST", "/webui/node/gc", headers=h, body=b"csrf=wrong").status == 403
