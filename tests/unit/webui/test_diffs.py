from __future__ import annotations

import re


def test_diff_page_lists_changes_with_sizes(demo):
    c = demo["commits"]
    html = demo["get"](f"/webui/d/weather/diff?a={c['first']}&b={c['dev']}").text
    assert "1 paths changed" in html and "0 added" in html and "1 modified" in html
    assert re.search(r'<td class="path">data.csv</td>\s*<td class="num">[\d.]+ KiB</td>', html)
    assert "row diff" in html


def test_default_diff_is_against_first_parent(demo):
    html = demo["get"]("/webui/d/weather/diff?b=main").text  # merge vs its first parent
    assert "data.csv" in html


def test_row_diff_page_by_position_and_key(demo):
    c = demo["commits"]
    base = f"/webui/d/weather/diff/file?a={c['first']}&b={c['dev']}&path=data.csv"
    html = demo["get"](base).text
    assert '<tr class="added">' in html and "Nuuk" in html
    assert '<td class="cell-add">42.0</td>' in html
    keyed = demo["get"](base + "&key=id").text
    assert re.search(r'<tr class="changed old"><td class="mark">~</td><td>10</td>', keyed)
    assert re.search(r'<tr class="added"><td class="mark">\+</td><td>1000</td>', keyed)


def test_text_unified_diff(demo):
    c = demo["commits"]
    html = demo["get"](f"/webui/d/weather/diff/file?a={c['first']}&b=main&path=notes.txt").text
    assert '<span class="add">+second notes</span>' in html
    assert '<span class="del">-first notes &lt;script&gt;' in html
