from __future__ import annotations

import re
from dataclasses import replace

from jiaozi_node.identity import Identity
from jiaozi_node.versioning import signing
from jiaozi_node.versioning.objects import Author, Commit
from jiaozi_node.webui.history import commit_status, graph


def test_log_shows_commits_badges_and_merge(demo):
    html = demo["get"]("/webui/d/weather/log?ref=main").text
    rows = re.findall(r'<tr class="commit" data-cid="([^"]+)"', html)
    c = demo["commits"]
    assert rows[0] == str(c["merge"])
    assert set(rows) == {str(c["merge"]), str(c["notes"]), str(c["dev"]), str(c["first"])}
    assert html.count("✔ verified") == 4
    assert 'class="merge"' in html and ">merge</span>" in html
    assert "<line " in html  # the graph


def test_log_pagination(demo, monkeypatch):
    ui_limits = demo["app"]
    demo["get"]("/webui/")  # builds the web UI
    webui = ui_limits.webui
    monkeypatch.setattr(webui, "limits", replace(webui.limits, log_page_commits=3))
    p1 = demo["get"]("/webui/d/weather/log?ref=main").text
    p2 = demo["get"]("/webui/d/weather/log?ref=main&page=2").text
    assert p1.count('class="commit"') == 3 and p2.count('class="commit"') == 1
    assert 'rel="next"' in p1 and 'rel="next"' not in p2 and 'rel="prev"' in p2


def test_commit_page_with_provenance_links(demo):
    c = demo["commits"]
    html = demo["get"](f"/webui/d/weather/commit?ref={c['dev']}").text
    assert 'id="provenance"' in html
    assert f'href="/webui/d/weather/commit?ref={c["first"]}"' in html  # input by CID
    assert 'href="/webui/d/weather/commit?ref=main"' in html  # input by ref weather@main
    assert "python clean.py" in html and "threshold" in html
    assert "✔ verified" in html and f"/webui/d/weather/diff?a={c['first']}" in html


def test_signature_status_untrusted_and_invalid(demo):
    vs = demo["node"].versioning
    head = vs.load_commit(demo["commits"]["first"])
    other = Identity.generate()
    foreign = signing.sign(Commit(head.root, (), Author("eve", other.peer_id), "x", 1), other)
    assert commit_status(foreign, vs.trusted_keys()).status == "untrusted"
    bad = commit_status(foreign.with_signature(bytes(64)), vs.trusted_keys())
    assert bad.status == "invalid" and bad.detail
    assert commit_status(head, vs.trusted_keys()).status == "verified"
    # and on the pages: a branch whose head is signed by an untrusted key, one with a bad signature
    fcid = vs.store_object(foreign)
    block = foreign.with_signature(bytes(64)).block()
    demo["node"].blocks.put(block.cid, block.data)
    vs.refs.update_ref("weather", "heads/eve", fcid, expected=None)
    vs.refs.update_ref("weather", "heads/forged", block.cid, expected=None)
    assert "⚠ untrusted signer" in demo["get"]("/webui/d/weather/log?ref=eve").text
    assert "✘ invalid" in demo["get"]("/webui/d/weather/log?ref=forged").text
    # the diff and tree pages show such commits with their badge (`jzfs diff` would refuse)
    d = demo["get"]("/webui/d/weather/diff?a=main&b=eve")
    assert d.status == 200 and "✔ verified" in d.text and "⚠ untrusted signer" in d.text
    assert "⚠ untrusted signer" in demo["get"]("/webui/d/weather/tree?ref=eve").text
    vs.refs.delete_ref("weather", "heads/eve")
    vs.refs.delete_ref("weather", "heads/forged")


def test_graph_lanes_for_a_merge():
    a, b, c, d = "A", "B", "C", "D"  # d = merge(b, c); b and c have parent a
    rows = graph([(d, (b, c)), (c, (a,)), (b, (a,)), (a, ())])
    assert [r.col for r in rows] == [0, 1, 0, 0]
    assert rows[0].width == 2
    assert (0, 0.5, 1, 1.0) in rows[0].lines and (0, 0.5, 0, 1.0) in rows[0].lines
    assert (1, 0.0, 0, 1.0) in rows[2].lines  # c's lane (now expecting a) joins lane 0
