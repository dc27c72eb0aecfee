from __future__ import annotations

import re

from jiaozi_node.testing.datasets import XSS_SCRIPT


def cells(html: str) -> list[list[str]]:
    body = html.split('<tbody>', 1)[1].split('</tbody>', 1)[0]
    return [re.findall(r'<td[^>]*>(.*?)</td>', row) for row in body.split('</tr>') if '<td' in row]


def test_csv_table_with_types_and_paging(demo):
    html = demo["get"]("/webui/d/weather/tree?ref=main&path=data.csv").text
    rows = cells(html)
    assert len(rows) == 100 and rows[0] == ["1", "0", "Oslo", "-5.0", "2026-01-01"]
    types = re.findall(r'<div class="type">(\w+)</div>', html)
    assert types == ["integer", "text", "number", "date"]
    nxt = re.search(r'href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    page2 = cells(demo["get"](nxt).text)
    assert page2[0][:2] == ["101", "99"]  # main has the merged CSV: a row was inserted at 50


def test_csv_sort(demo):
    html = demo["get"]("/webui/d/weather/tree?ref=main&path=data.csv&sort=2&desc=1").text
    temps = [float(r[3]) for r in cells(html)]
    assert temps == sorted(temps, reverse=True)


def test_tsv_json_markdown_text_image(demo):
    g = demo["get"]
    assert cells(g("/webui/d/weather/tree?ref=main&path=data.tsv").text) == [["1", "1", "2"]]
    js = g("/webui/d/weather/tree?ref=main&path=config.json").text
    assert '{\n  &#34;b&#34;: [\n    1,' in js
    md = g("/webui/d/weather/tree?ref=main&path=README.md").text
    assert "<h1>Weather</h1>" in md and 'href="https://example.org/"' in md
    assert "javascript:" not in md.split('id="preview"')[1] or 'href="javascript' not in md
    assert XSS_SCRIPT not in md and "&lt;script&gt;" in md
    img = g("/webui/d/weather/tree?ref=main&path=pic.png").text
    src = re.search(r'<img id="preview" class="image" src="([^"]+)"', img).group(1)
    r = g(src)
    assert r.headers["content-type"] == "image/png" and r.body.startswith(b"\x89PNG")


