from __future__ import annotations

import re

from jiaozi_node.webui.app import CSP, content_disposition


def _token(page: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)


def test_pages_carry_security_headers(demo):
    r = demo["get"]("/webui/")
    assert r.status == 200
    assert r.headers["content-security-policy"] == CSP
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["content-type"].startswith("text/html")


def test_static_assets_are_in_the_package(demo):
    css = demo["get"]("/webui/static/style.css")
    js = demo["get"]("/webui/static/app.js")
    assert css.status == 200 and css.headers["content-type"].startswith("text/css")
    assert js.status == 200 and "addEventListener" in js.text
    assert demo["get"]("/webui/static/../app.py").status == 404
    assert demo["get"]("/webui/static/nope.css").status == 404
    assert "https://" not in css.text + js.text  # nothing fetched from elsewhere


def test_unknown_page_and_method(demo):
    assert demo["get"]("/webui/nope").status == 404
    assert demo["call"]("PUT", "/webui/").status == 405
    assert demo["call"]("POST", "/webui/datasets").status == 405


def test_post_needs_token_and_same_origin(demo):
    page = demo["get"]("/webui/d/weather").text
    token = _token(page)
    same = {"origin": "http://127.0.0.1:5001", "content-type": "application/x-www-form-urlencoded"}
    body = f"csrf={token}&branch=viaform&from=main".encode()
    # no token
    r = demo["call"]("POST", "/webui/d/weather/branch", headers=same, body=b"branch=x&from=main")
    assert r.status == 403
    # token from a page, but the request comes from another origin: the RPC server refuses it
    evil = {**same, "origin": "http://evil.example"}
    assert demo["call"]("POST", "/webui/d/weather/branch", headers=evil, body=body).status == 403
    # no Origin and no Referer: refused too
    assert demo["call"]("POST", "/webui/d/weather/branch",
                        headers={"content-type": same["content-type"]}, body=body).status == 403
    assert "viaform" not in demo["node"].versioning.branch_list("weather")
    r = demo["call"]("POST", "/webui/d/weather/branch", headers=same, body=body)
    assert r.status == 303 and r.headers["location"] == "/webui/d/weather/log?ref=viaform"
    assert "viaform" in demo["node"].versioning.branch_list("weather")
    # same origin by Referer
    body2 = f"csrf={token}&branch=viaref&from=main".encode()
    r = demo["call"]("POST", "/webui/d/weather/branch",
                     headers={"referer": "http://127.0.0.1:5001/webui/d/weather"}, body=body2)
    assert r.status == 303


def test_errors_are_pages_with_one_line(demo):
    r = demo["get"]("/webui/d/nosuch")
    assert r.status == 404 and "no dataset named" in r.text
    r = demo["get"]("/webui/ipfs/notacid")
    assert r.status == 400


def test_content_disposition_is_safe():
    h = content_disposition('a"b\\c\r\nd.csv')
    assert '"a_b_c__d.csv"' in h and "\r" not in h and "\n" not in h
    assert "filename*=UTF-8''a%22b%5Cc%0D%0Ad.csv" in h
