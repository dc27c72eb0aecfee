"""The web UI in a real browser: headless Chromium (Debian's `chromium` + `chromium-driver`,
driven by Selenium with the driver path given, so nothing is downloaded) against a real
`jzfs daemon` on 127.0.0.1, on a dataset with two branches, a merge, a CSV change, a 10 000-file
(HAMT-sharded) directory and hostile strings everywhere a user controls one.

The daemon runs with `WebUI.ContentSecurityPolicy` off, so the checks that no injected script
runs test the escaping itself, not the CSP behind it. Every page visited is saved as a
screenshot in tests/artifacts/screenshots/ (git-ignored; `.ci/run` also copies it to /tmp/jzfs-ci-artifacts when a test fails).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
MANY = 10_000

pytestmark = pytest.mark.skipif(not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
                                reason="needs Debian's chromium and chromium-driver (.ci/run installs them)")

# Runs before any page script: records alert() calls instead of blocking on a dialog.
HOOK = "window.__alerts = []; window.alert = (m) => window.__alerts.push(String(m));"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from jiaozi_node.node import Node
    from jiaozi_node.testing.datasets import build_demo

    tmp = tmp_path_factory.mktemp("webui-browser")
    repo_path = tmp / "repo"
    node = Node.open(repo_path)
    info = build_demo(node, tmp, many_files=MANY)
    repo = node.repo
    repo.set_config("Addresses.API", "/ip4/127.0.0.1/tcp/0")
    repo.set_config("Addresses.Gateway", "/ip4/127.0.0.1/tcp/0")
    repo.set_config("Addresses.Swarm", ["/ip4/127.0.0.1/tcp/0"])
    repo.set_config("WebUI.ContentSecurityPolicy", False)
    info["loose"] = node.add_bytes(b"loose block for the pin form", pin=False)
    node.close()
    env = {**os.environ, "JZFS_PATH": str(repo_path), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "jiaozi_node.cli.main", "daemon"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "Daemon is ready" in line:
            break
    else:
        raise RuntimeError("daemon exited early:\n" + "".join(lines))
    log = open(tmp / "daemon.log", "w")  # noqa: SIM115 - kept open while the daemon runs
    threading.Thread(target=lambda: [log.write(x) or log.flush() for x in proc.stdout], daemon=True).start()
    info["log"] = tmp / "daemon.log"
    m = re.search(r"RPC API server listening on /ip4/([\d.]+)/tcp/(\d+)", "".join(lines))
    info["base"] = f"http://{m.group(1)}:{m.group(2)}"
    try:
        yield info
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1000", "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)  # driver path given: no download
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": HOOK})
    driver.set_page_load_timeout(30)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


class Page:
    """Helpers over the driver: visit, click, read what a person sees, screenshot every page."""

    def __init__(self, driver, base: str, test: str) -> None:
        self.d, self.base, self.test, self.n = driver, base, test, 0

    def open(self, path: str) -> None:
        self.d.get(self.base + path)
        self.settle()

    def settle(self) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(self.d, 20).until(lambda d: d.execute_script("return document.readyState") == "complete")
        self.n += 1
        self.d.save_screenshot(str(SHOTS / f"{self.test}-{self.n:02d}.png"))
        self.assert_nothing_ran()

    def assert_nothing_ran(self) -> None:
        assert self.d.execute_script("return window.__xss === undefined"), self.d.current_url
        assert self.d.execute_script("return window.__alerts.length") == 0, self.d.current_url

    def click(self, text: str | None = None, css: str | None = None) -> None:
        from selenium.webdriver.common.by import By

        el = self.d.find_element(By.LINK_TEXT, text) if text else self.d.find_element(By.CSS_SELECTOR, css)
        el.click()
        self.settle()

    def texts(self, css: str) -> list[str]:
        return self.d.execute_script(
            "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.innerText.trim())", css)

    def table(self, css: str) -> list[list[str]]:
        """The text of every body cell, read in one round trip (what a person sees)."""
        return self.d.execute_script(
            "return Array.from(document.querySelectorAll(arguments[0] + ' tbody tr'))"
            ".map(r => Array.from(r.querySelectorAll('td')).map(c => c.innerText.trim()))", css)

    def find(self, css: str):
        from selenium.webdriver.common.by import By

        return self.d.find_element(By.CSS_SELECTOR, css)


@pytest.fixture
def page(browser, site, request):
    return Page(browser, site["base"], request.node.name.removeprefix("test_"))


def test_datasets_and_overview(page, site):
    page.open("/webui/")
    [row] = page.table("#datasets")
    assert row[0] == "weather" and "main" in row[1] and "dev" in row[1] and row[2] == "v1"
    assert row[3].startswith("Merge dev into main") and re.match(r"[\d.]+ (KiB|MiB)", row[4])
    page.click("weather")
    branches = page.table("#branches")
    assert [r[0] for r in branches] == ["dev", "main"]
    assert "update notes" not in branches[1][2] and "Merge dev into main" in branches[1][2]


def test_history_badges_merge_graph_and_provenance(page, site):
    from jiaozi_node.testing.datasets import XSS_ATTR, XSS_SCRIPT

    page.open("/webui/")
    page.click("main")
    rows = page.table("#log")
    assert [r[1].split("\n")[0] for r in rows][:2] == ["Merge dev into main merge", "update notes"]
    assert [r[3] for r in rows] == ["✔ verified"] * 4
    assert len(page.d.find_elements("css selector", "#log svg circle")) == 4
    assert len(page.d.find_elements("css selector", "#log svg circle.merge")) == 1
    lanes = {float(e.get_attribute("x1")) for e in page.d.find_elements("css selector", "#log svg line")}
    assert len(lanes) >= 2  # two lanes drawn for the merge
    # the dev commit: its hostile message is shown as text
    msg = next(r[1] for r in rows if r[1].startswith("fix temperature"))
    assert XSS_SCRIPT in msg and XSS_ATTR in msg
    page.click(css="#log tr:nth-child(3) td.msg a") if rows[2][1].startswith("fix") else \
        page.click(css="#log tr:nth-child(4) td.msg a")
    assert page.find("#message").text == f"fix temperature {XSS_SCRIPT} {XSS_ATTR}"
    prov = page.table("#provenance")
    assert any(XSS_SCRIPT in c for r in prov for c in r)  # the command, as text
    hrefs = [a.get_attribute("href") for a in page.d.find_elements("css selector", "#provenance a")]
    assert all(h.startswith(site["base"] + "/webui/") for h in hrefs)  # javascript: input neutralised
    page.click("weather@main")
    assert "Merge dev into main" in page.find("#message").text


def test_tree_hamt_paging_copy_and_hostile_name(page, site):
    from jiaozi_node.testing.datasets import XSS_ATTR

    page.open("/webui/d/weather/tree?ref=main")
    names = [r[0].removesuffix("/") for r in page.table("#tree")]
    assert f"{XSS_ATTR}.txt" in names and "data.csv" in names and names == sorted(names)
    page.click("many")
    meta = page.find("p.meta").text
    assert f"{MANY} entries (HAMT-sharded)" in meta
    rows = page.table("#tree")
    assert len(rows) == 100 and rows[0][0].endswith("f00000.txt") and rows[0][1] == "2 B"
    assert "page 1 of 100" in page.find("nav.pager").text
    page.click("next →")
    assert page.table("#tree")[0][0].endswith("f00100.txt")
    page.click("last")
    assert page.table("#tree")[-1][0].endswith(f"f{MANY - 1:05d}.txt")
    button = page.find("#tree button.copy")
    button.click()
    time.sleep(0.2)
    assert button.text == "✓"  # copied (the fallback path: plain http is no secure context)


def test_csv_preview_types_sort_and_paging(page, site):
    page.open("/webui/d/weather/tree?ref=main&path=data.csv")
    heads = page.texts("#preview thead th")
    assert heads[1:] == ["id\ninteger", "city\ntext", "temp\nnumber", "date\ndate"]
    rows = page.table("#preview")
    assert len(rows) == 100 and rows[0] == ["1", "0", "Oslo", "-5.0", "2026-01-01"]
    page.click("temp")
    temps = [float(r[3]) for r in page.table("#preview")]
    assert temps == sorted(temps)
    page.click("temp")
    temps = [float(r[3]) for r in page.table("#preview")]
    assert temps == sorted(temps, reverse=True)
    page.open("/webui/d/weather/tree?ref=main&path=data.csv")
    page.click("next rows →")
    assert page.table("#preview")[0][0] == "101"


def test_markdown_json_text_and_image_previews(page, site):
    from jiaozi_node.testing.datasets import XSS_SCRIPT

    page.open("/webui/d/weather/tree?ref=main&path=README.md")
    art = page.find("#preview")
    assert art.find_element("tag name", "h1").text == "Weather" and XSS_SCRIPT in art.text
    links = [a.get_attribute("href") for a in art.find_elements("tag name", "a")]
    assert links == ["https://example.org/"]  # the javascript: link is not a link
    page.open("/webui/d/weather/tree?ref=main&path=config.json")
    assert page.find("#preview").text.startswith('{\n  "b": [\n    1,')
    page.open("/webui/d/weather/tree?ref=main&path=pic.png")
    assert page.d.execute_script("return document.getElementById('preview').naturalWidth") == 1


def test_diff_and_row_diff(page, site):
    first = str(site["commits"]["first"])
    page.open("/webui/d/weather")
    page.find("form.inline input[name=a]").send_keys(first)
    page.find("form.inline input[name=b]").send_keys("dev")
    page.click(css="form.inline button")
    assert page.find("#summary").text == "1 paths changed: 0 added, 0 removed, 1 modified"
    [row] = page.table("#changes")
    assert row[0] == "M" and row[1] == "data.csv" and row[2].endswith("KiB")
    page.click("row diff")
    rows = page.table("#rowdiff")
    added = [r for r in rows if r[0] == "+"]
    assert added == [["+", "1000", "Nuuk", "-12.5", "2026-02-01"]]
    changed = [i for i, r in enumerate(rows) if r[0] == "~"]
    assert rows[changed[0]][3] != "42.0" and rows[changed[0] + 1][3] == "42.0"
    from selenium.webdriver.support.ui import Select

    Select(page.find("select[name=key]")).select_by_visible_text("by column id")
    page.click(css="form.inline button")
    rows = page.table("#rowdiff")
    assert ["~", "10"] == rows[0][:2] and any(r[:2] == ["+", "1000"] for r in rows)


def test_node_page_pin_gc_bandwidth(page, site):
    page.open("/webui/node")
    ident = page.table("#identity")
    assert ident[0][0].startswith("12D3KooW") and "jzfs/" in ident[1][0]
    assert "/ip4/127.0.0.1/tcp/" in ident[2][0]
    assert {"bitswap", "dht", "provide"} <= set(page.texts("h2"))  # service statistics
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(page.d, 20).until(lambda d: "blocks" in d.find_element("id", "repo-size").text)
    WebDriverWait(page.d, 20).until(lambda d: d.find_element("css selector", "#bw polyline.in").get_attribute("points"))
    page.find("#pin-form input[name=cid]").send_keys(str(site["loose"]))
    page.click(css="#pin-form button")
    assert page.find("#flash").text == f"pinned {site['loose']}"
    assert any(str(site["loose"])[:10] in r[0] for r in page.table("#pins"))
    page.click(css="#gc-form button")
    assert re.match(r"garbage collection removed \d+ blocks", page.find("#flash").text)


def test_cross_origin_post_is_refused(page, site):
    """A page on another origin that auto-submits a form to the node (CSRF) gets 403."""
    target = site["base"] + "/webui/node/gc"

    class Evil(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != "/":
                self.send_response(404)
                self.end_headers()
                return
            body = (f'<form id=f method=post action="{target}"><input name=csrf value="guess"></form>'
                    "<script>document.getElementById('f').submit()</script>").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Evil)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        page.d.get(f"http://127.0.0.1:{srv.server_port}/")
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(page.d, 20).until(lambda d: d.current_url.startswith(site["base"]))
        page.settle()
        assert "403" in page.d.title or "Forbidden" in page.d.page_source
    finally:
        srv.shutdown()


def test_cid_inspector(page, site):
    dev = str(site["commits"]["dev"])
    page.open("/webui/")
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    page.find("header form.search input").send_keys(dev + Keys.ENTER)
    WebDriverWait(page.d, 30).until(lambda d: "/webui/inspect" in d.current_url)
    page.settle()
    assert page.find("#codec").text.startswith("dag-cbor")
    assert page.table("#commit-object")[0][0].startswith("fix temperature <script>")
    root = page.find("#commit-object button.copy").get_attribute("data-copy")
    page.click(root)  # the root link in the decoded value: a dag-pb directory
    assert "dag-pb" in page.find("#codec").text and page.table("#unixfs")[0] == ["Directory"]
    assert any(r[0] == "data.csv" for r in page.table("#links"))
