from __future__ import annotations

from jiaozi_node.webui.render import href, human_size, render, short


def test_href_quotes_every_segment_and_stays_under_webui():
    assert href("d", "a/b", "log", ref="x&y", page=2) == "/webui/d/a%2Fb/log?ref=x%26y&page=2"
    assert href() == "/webui/"
    assert href("javascript:alert(1)").startswith("/webui/javascript%3Aalert")
    assert href("x", a=None, b="") == "/webui/x"


def test_filters():
    assert human_size(0) == "0 B" and human_size(1536) == "1.5 KiB" and human_size(None) == "—"
    assert short("bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi") == "bafybeigdy…5fbzdi"


def test_autoescape_is_on():
    html = render("error.html", status=400, message="<script>x</script>", csrf="t")
    assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
