"""Every user-controlled string reaches the page as text: file names, commit messages, CSV cells,
provenance (command, params, inputs), Markdown, branch names (even ones that bypass the name
check, written straight into the refs database)."""

from __future__ import annotations

import re

from jiaozi_node.testing.datasets import XSS_ATTR, XSS_SCRIPT

RAW = (XSS_SCRIPT, XSS_ATTR, "onerror=\"window", "href=\"javascript:", "<img src=x")


def pages(demo):
    c = demo["commits"]
    q = "%22%3E%3Cimg%20src%3Dx%20onerror%3D%22window.__xss%3D2%22%3E.txt"
    return ["/webui/", "/webui/d/weather", "/webui/d/weather/log?ref=main", "/webui/d/weather/log?ref=dev",
            f"/webui/d/weather/commit?ref={c['dev']}", "/webui/d/weather/tree?ref=main",
            f"/webui/d/weather/tree?ref=main&path={q}", "/webui/d/weather/tree?ref=main&path=data.csv&at=0",
            "/webui/d/weather/tree?ref=main&path=README.md", "/webui/d/weather/tree?ref=main&path=notes.txt",
            "/webui/d/weather/tree?ref=main&path=config.json",
            f"/webui/d/weather/diff?a={c['first']}&b={c['dev']}",
            f"/webui/d/weather/diff/file?a={c['first']}&b={c['dev']}&path=data.csv",
            f"/webui/inspect?cid={c['dev']}", "/webui/d/weather/log?ref=%3Cscript%3E"]


def test_no_page_carries_a_live_payload(demo):
    for p in pages(demo):
        html = demo["get"](p).text
        for raw in RAW:
            assert raw not in html, (p, raw)
        assert not re.search(r'href="\s*javascript:', html, re.I), p


def test_payloads_are_visible_as_text(demo):
    c = demo["commits"]
    commit = demo["get"](f"/webui/d/weather/commit?ref={c['dev']}").text
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in commit
    assert "javascript:window.__xss=3" in commit  # the input shown as text, its link internal
    assert 'href="/webui/d/weather/commit?ref=javascript%3Awindow.__xss%3D3"' in commit
    tree = demo["get"]("/webui/d/weather/tree?ref=main").text
    assert "&#34;&gt;&lt;img src=x onerror=&#34;window.__xss=2&#34;&gt;.txt" in tree


def test_hostile_branch_name_from_the_database(demo, tmp_path):
    node = demo["node"]
    refs = node.versioning.refs
    refs._run("INSERT INTO jzfs_refs (repo, ref, target) VALUES (?, ?, ?)",
              ("weather", "heads/" + XSS_SCRIPT, str(demo["commits"]["first"])))
    try:
        for p in ("/webui/", "/webui/d/weather", "/webui/d/weather/log?ref=main"):
            html = demo["get"](p).text
            assert XSS_SCRIPT not in html and "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html
    finally:
        refs._run("DELETE FROM jzfs_refs WHERE ref = ?", ("heads/" + XSS_SCRIPT,))
