"""RPC handlers: routing/findprovs|findpeer|provide|get|put, stats/provide, stats/dht.

Shapes as Kubo's: routing commands stream go-libp2p `QueryEvent`s as NDJSON,
`{"Extra": str, "ID": str, "Responses": [{"ID", "Addrs"}] | null, "Type": int}` with Kubo's type
numbers (Provider 4, FinalPeer 2, Value 5 with the value base64 in Extra, QueryError 3).
`stats/provide` is Kubo's struct (durations in ns); `stats/dht` streams one object per DHT:
`{"Name", "Buckets": [{"LastRefresh", "Peers": [{"ID", "Connected", "AgentVersion",
"LastUsefulAt", "LastQueriedAt"}]}]}`.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from ..errors import InvalidInput, JzfsError, NotFound
from ..gateway.asgi import Request, Response
from ..gateway.http_common import parse_cid
from .common import (
    ApiContext,
    Handler,
    in_thread,
    one_arg,
    param_bool,
    param_int,
    send_json,
    send_ndjson,
)
from .multipart import first_part

# go-libp2p routing.QueryEventType
SENDING_QUERY, PEER_RESPONSE, FINAL_PEER, QUERY_ERROR, PROVIDER, VALUE = 0, 1, 2, 3, 4, 5


def event(kind: int, *, peer: str = "", responses: list[dict[str, Any]] | None = None,
          extra: str = "") -> dict[str, Any]:
    return {"Extra": extra, "ID": peer, "Responses": responses, "Type": kind}


def addr_info(peer_id: str, addrs: Any) -> dict[str, Any]:
    return {"ID": peer_id, "Addrs": list(addrs)}


def routing_service(ctx: ApiContext) -> Any:
    on = ctx.require_online()
    svc = on.services.get("routing")
    if svc is None:
        raise JzfsError("routing is not running on this node")
    return svc


def parse_routing_key(text: str) -> bytes:
    """Kubo's key argument: `/ipns/<peer ID or libp2p-key CID>` and `/pk/<peer ID>` become the
    binary routing keys (`/ipns/` + multihash bytes); other `/ns/…` keys are taken as text."""
    from ..ipns.name import IpnsName

    if not text.startswith("/") or text.count("/") < 2:
        raise InvalidInput(f"routing key {text!r} must look like /namespace/name")
    ns, _, name = text[1:].partition("/")
    if ns == "ipns":
        return b"/ipns/" + IpnsName.parse(name).multihash
    if ns == "pk":
        try:
            return b"/pk/" + IpnsName.parse(name).multihash
        except InvalidInput:
            raise InvalidInput(f"invalid /pk/ key {text[:90]!r}: {name[:80]!r} is not a peer ID") from None
    return text.encode()


async def findprovs(ctx: ApiContext, req: Request, resp: Response) -> None:
    svc = routing_service(ctx)
    cid = parse_cid(one_arg(req, "key"))
    n = param_int(req, "num-providers", svc.limits.default_num_providers) or 0
    if n < 1:
        raise InvalidInput("number of providers must be greater than 0")

    async def events() -> AsyncIterator[dict[str, Any]]:
        async with aclosing(svc.router.find_providers(cid, limit=n)) as provs:
            async for rec in provs:
                svc.dialer.remember(rec)
                yield event(PROVIDER, responses=[addr_info(rec.peer_id, rec.addrs)])

    await send_ndjson(resp, events())


async def findpeer(ctx: ApiContext, req: Request, resp: Response) -> None:
    svc = routing_service(ctx)
    peer = one_arg(req, "peerID")
    from ..ipns.name import IpnsName

    IpnsName.parse(peer)  # a peer ID (InvalidInput otherwise)
    if peer == svc.host.peer_id:
        raise InvalidInput("found peer is self")
    rec = await svc.router.find_peer(peer)
    svc.dialer.remember(rec)

    async def events() -> AsyncIterator[dict[str, Any]]:
        yield event(FINAL_PEER, responses=[addr_info(rec.peer_id, rec.addrs)])

    await send_ndjson(resp, events())


async def provide(ctx: ApiContext, req: Request, resp: Response) -> None:
    svc = routing_service(ctx)
    args = req.args()
    if not args:
        raise InvalidInput("argument 'key' is required")
    cids = [parse_cid(a) for a in args]
    blocks = ctx.node.blocks
    for c in cids:
        if not await in_thread(blocks.has, c):
            raise NotFound(f"block {c} not found locally, cannot provide")
    if not svc.host.peers():  # Kubo's check and message
        raise JzfsError("cannot provide, no connected peers")
    recursive = param_bool(req, "recursive", False)
    if recursive:
        from ..store.walk import walk

        todo: Any = walk(blocks, cids)
    else:
        todo = cids
    provider = svc.provider
    if provider is not None:
        count, ok = await provider.announce_all(todo)
        if not ok:
            raise JzfsError("provide failed: no router accepted the records (see the daemon log)")
    else:
        await svc.router.provide(list(todo))

    async def events() -> AsyncIterator[dict[str, Any]]:
        return
        yield  # pragma: no cover - an empty stream, as Kubo's without -v

    await send_ndjson(resp, events())


async def get_value(ctx: ApiContext, req: Request, resp: Response) -> None:
    svc = routing_service(ctx)
    key = parse_routing_key(one_arg(req, "key"))
    value = await svc.router.get_value(key)

    async def events() -> AsyncIterator[dict[str, Any]]:
        yield event(VALUE, extra=base64.b64encode(value).decode())

    await send_ndjson(resp, events())


async def put_value(ctx: ApiContext, req: Request, resp: Response) -> None:
    svc = routing_service(ctx)
    key = parse_routing_key(one_arg(req, "key"))
    value = await first_part(req, limit=svc.limits.max_record_bytes + 1, max_header_bytes=ctx.limits.max_part_header_bytes)
    if len(value) > svc.limits.max_record_bytes:
        raise InvalidInput(f"record over the {svc.limits.max_record_bytes}-byte limit")
    await svc.router.put_value(key, value)

    async def events() -> AsyncIterator[dict[str, Any]]:
        yield event(VALUE, peer=svc.host.peer_id)

    await send_ndjson(resp, events())


async def stats_provide(ctx: ApiContext, req: Request, resp: Response) -> None:
    svc = routing_service(ctx)
    if svc.provider is None:
        raise JzfsError("providing is off (Routing.Type is none)")
    await send_json(resp, svc.provider.stats())


async def stats_dht(ctx: ApiContext, req: Request, resp: Response) -> None:
    svc = routing_service(ctx)
    dht = svc.dht
    if dht is None:
        raise JzfsError("no DHT is running (Routing.Type is "
                        f"{svc.rtype!r}{'' if svc.rtype != 'auto' else ', DHT not available'})")
    tables = dht_tables(dht, svc.host)

    async def lines() -> AsyncIterator[dict[str, Any]]:
        for t in tables:
            yield t

    await send_ndjson(resp, lines())


def dht_tables(dht: Any, host: Any) -> list[dict[str, Any]]:
    """Kubo's `stats dht` objects, one per DHT: from the DHT's `stats()` (routing/dht/service.py:
    {"Name": protocol, "Buckets": [{"Cpl", "Peers": [{"ID", "LastUseful": seconds ago}]}], …})
    with Kubo's field names, our extra figures (mode, table size, stores, counters) kept."""
    import time

    st = dht.stats() if callable(getattr(dht, "stats", None)) else {}
    name = str(st.get("Name", getattr(dht, "name", "dht")))
    name = {"/ipfs/kad/1.0.0": "wan", "/ipfs/lan/kad/1.0.0": "lan"}.get(name, name)
    now = time.time()
    buckets = []
    for b in st.get("Buckets") or []:
        peers = []
        for p in b.get("Peers") or []:
            ago = p.get("LastUseful")
            peers.append({"ID": p["ID"], "Connected": host.is_connected(p["ID"]), "AgentVersion": "",
                          "LastUsefulAt": _iso(now - ago) if isinstance(ago, (int, float)) else "",
                          "LastQueriedAt": ""})
        buckets.append({"LastRefresh": "", "Cpl": b.get("Cpl"), "Peers": peers})
    out = {k: v for k, v in st.items() if k not in ("Name", "Buckets")}
    return [{"Name": name, "Buckets": buckets, **out}]


def _iso(t: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(t, datetime.UTC).isoformat(timespec="seconds")


ROUTES: dict[str, Handler] = {
    "routing/findprovs": findprovs,
    "routing/findpeer": findpeer,
    "routing/provide": provide,
    "routing/get": get_value,
    "routing/put": put_value,
    "stats/provide": stats_provide,
    "stats/dht": stats_dht,
    # Kubo 0.22 still serves the old `ipfs dht …` names (deprecated); ipfshttpclient uses them.
    "dht/findprovs": findprovs,
    "dht/findpeer": findpeer,
    "dht/provide": provide,
    "dht/get": get_value,
    "dht/put": put_value,
}
