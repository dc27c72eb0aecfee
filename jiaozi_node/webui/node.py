"""The node page: peer ID and addresses, connected peers (agent from identify, latency from one
ping, each bounded by `WebUILimits.node_peer_timeout_s`), Bitswap and routing statistics when
those services run, pins (pin/unpin), repo size (a JSON endpoint, it walks every block), GC, and
a live bandwidth graph that polls `/webui/node/stats` (stream bytes counted by the libp2p host).

The actions are the RPC API's own calls (`store.pins`, `store.gc.collect`), behind a POST with the
page's CSRF token (checked in `app.py`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import trio

from ..errors import JzfsError
from ..ipld.cid import CID
from .app import Html, Json, Query, Redirect, Reply
from .render import href

if TYPE_CHECKING:
    from .app import WebUI


async def _peer_row(ui: WebUI, on: Any, peer: str, out: dict[str, dict[str, Any]]) -> None:
    row: dict[str, Any] = {"peer": peer, "addr": "", "agent": None, "latency_ms": None}
    conns = on.host.peer_conn_info(peer)
    if conns:
        row["addr"] = conns[0]["Addr"]
    timeout = ui.limits.node_peer_timeout_s
    with trio.move_on_after(timeout):
        try:
            row["agent"] = (await on.host.identify(peer)).get("AgentVersion")
        except JzfsError:
            pass
    with trio.move_on_after(timeout):
        try:
            rtts = await on.host.ping(peer, count=1)
            row["latency_ms"] = rtts[0] * 1000 if rtts else None
        except JzfsError:
            pass
    out[peer] = row


def _service_stats(on: Any) -> dict[str, dict[str, Any]]:
    """Counters of the running services that keep them (`stats` mappings)."""
    out: dict[str, dict[str, Any]] = {}
    found = [(name, svc) for name, svc in sorted(on.services.items())]
    provider = getattr(on.services.get("routing"), "provider", None)
    if provider is not None:
        found.append(("provide", provider))  # what `jzfs stats provide` shows
    for name, svc in found:
        stats = getattr(svc, "stats", None)
        if callable(stats):
            try:
                stats = stats()
            except Exception:  # noqa: BLE001 - a statistics call must not break the page
                stats = None
        if isinstance(stats, dict) and stats:
            flat: dict[str, Any] = {}
            for k, v in stats.items():
                if isinstance(v, (int, float, str)):
                    flat[str(k)] = v
                elif isinstance(v, dict):  # one level of nesting (e.g. the DHT's counters)
                    flat.update({f"{k}.{k2}": v2 for k2, v2 in v.items() if isinstance(v2, (int, float, str))})
            if flat:
                out[name] = flat
    bitswap = on.services.get("bitswap")
    engine = getattr(bitswap, "engine", None)
    if engine is not None:
        sent = recv = blocks = 0
        for peer in engine.peers():
            try:
                ledger = engine.ledger(peer)
            except JzfsError:
                continue
            sent, recv, blocks = sent + ledger.bytes_sent, recv + ledger.bytes_received, blocks + ledger.blocks_sent
        out.setdefault("bitswap", {}).update({"peers": len(engine.peers()),
                                              "bytes_sent (connected peers)": sent,
                                              "bytes_received (connected peers)": recv,
                                              "blocks_sent (connected peers)": blocks})
    return out


def _pins(ui: WebUI) -> tuple[list[tuple[CID, str]], int]:
    pins = ui.node.pins.ls("all")
    return pins[:100], len(pins)


async def node_page(ui: WebUI, q: Query) -> Reply:
    from ..api import swarm as net

    on = ui.ctx.online
    peers: list[dict[str, Any]] = []
    stats: dict[str, dict[str, Any]] = {}
    if on is not None:
        ident = await net.id_info(on)
        found: dict[str, dict[str, Any]] = {}
        ids = on.host.peers()[: ui.limits.node_page_peers]
        async with trio.open_nursery() as nursery:
            for peer in ids:
                nursery.start_soon(_peer_row, ui, on, peer, found)
        peers = [found[p] for p in ids if p in found]
        stats = _service_stats(on)
        total_peers = len(on.host.peers())
    else:
        ident = net.id_info_offline(ui.node)
        total_peers = 0
    pins, npins = await trio.to_thread.run_sync(_pins, ui)
    return Html("node.html", {"ident": ident, "peers": peers, "total_peers": total_peers,
                              "stats": stats, "pins": pins, "npins": npins, "online": on is not None,
                              "nav": "node", "message": q.get("msg")})


def stats_json(ui: WebUI, q: Query) -> Reply:
    on = ui.ctx.online
    meter = getattr(getattr(on, "host", None), "meter", None)
    return Json({"t": time.time(), "in": getattr(meter, "bytes_in", 0), "out": getattr(meter, "bytes_out", 0),
                 "peers": len(on.host.peers()) if on is not None else 0})


def repo_json(ui: WebUI, q: Query) -> Reply:
    blocks = ui.node.blocks
    n = size = 0
    for cid in blocks.cids():
        n += 1
        size += blocks.size(cid)
    return Json({"NumObjects": n, "RepoSize": size, "RepoPath": str(ui.node.repo.path)})


def gc_action(ui: WebUI, q: Query) -> Reply:
    from ..store import gc as gc_mod

    removed = sum(1 for _ in gc_mod.collect(ui.node.pins))
    return Redirect(href("node", msg=f"garbage collection removed {removed} blocks"))


def pin_action(ui: WebUI, q: Query) -> Reply:
    arg = (q.form.get("cid") or "").strip()
    action = q.form.get("action")
    cid = ui.ctx.resolve_cid(arg)
    if action == "add":
        ui.ctx.make_dag_local(cid)  # the whole DAG must be local, as `pin add` makes sure
        ui.node.pins.add(cid, recursive=True)
        msg = f"pinned {cid}"
    elif action == "rm":
        ui.node.pins.rm(cid, recursive=q.form.get("type", "recursive") == "recursive")
        msg = f"unpinned {cid}"
    else:
        from ..errors import InvalidInput

        raise InvalidInput("action must be add or rm")
    return Redirect(href("node", msg=msg))


ROUTES = [
    ("GET", r"/node", node_page),
    ("GET", r"/node/stats", stats_json),
    ("GET", r"/node/repo", repo_json),
    ("POST", r"/node/gc", gc_action),
    ("POST", r"/node/pin", pin_action),
]
