"""CID inspector: paste a CID, an `/ipfs/CID/path` or an `/ipns/NAME[/path]` (resolved by the
node's IPNS service, as `jzfs name resolve`): version, codec, multihash, block size, links, and a DAG explorer that walks DAG-PB
(UnixFS data, links), DAG-CBOR/DAG-JSON (jzfs commits and tags explained, CIDs as links) and raw
blocks (hex of the first bytes). Blocks come through the node's getter (local, else the network
when the daemon is online), verified like every other block.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import JzfsError
from ..ipld import codecs, multihash
from ..ipld.cid import CID, DAG_CBOR, DAG_JSON, DAG_PB, RAW
from ..unixfs.exporter_data import load_block
from .app import Html, Query, Reply
from .render import href

if TYPE_CHECKING:
    from .app import WebUI



def parse_target(ui: WebUI, text: str) -> CID:
    """A CID, `CID/path` or `/ipfs/CID/path` (an `/ipns/` name is resolved before, in
    `inspect_page`) → the CID it names."""
    text = text.strip()
    if text.startswith("/ipfs/") or "/" in text:
        from ..gateway.http_common import parse_arg_path
        from ..unixfs.resolve import resolve

        cp = parse_arg_path(text)
        return resolve(ui.getter, cp.cid, list(cp.segments)) if cp.segments else cp.cid
    return CID.decode(text)


def _value_lines(value: Any, max_lines: int) -> list[tuple[int, str, str, str | None]]:
    """A decoded IPLD value as indented lines: (depth, key, text, link or None), bounded."""
    out: list[tuple[int, str, str, str | None]] = []
    stack: list[tuple[int, str, Any]] = [(0, "", value)]
    while stack and len(out) < max_lines:
        depth, key, v = stack.pop()
        if isinstance(v, CID):
            out.append((depth, key, str(v), href("inspect", cid=str(v))))
        elif isinstance(v, dict):
            out.append((depth, key, "{", None))
            stack.append((depth, "", _Close("}")))
            stack.extend((depth + 1, str(k), v[k]) for k in reversed(list(v)))
        elif isinstance(v, list):
            out.append((depth, key, "[", None))
            stack.append((depth, "", _Close("]")))
            stack.extend((depth + 1, str(i), x) for i, x in reversed(list(enumerate(v))))
        elif isinstance(v, _Close):
            out.append((depth, "", v.text, None))
        elif isinstance(v, bytes):
            out.append((depth, key, f"bytes[{len(v)}] {v[:64].hex()}{'…' if len(v) > 64 else ''}", None))
        else:
            out.append((depth, key, repr(v), None))
    return out


class _Close:
    def __init__(self, text: str) -> None:
        self.text = text


def describe(ui: WebUI, cid: CID) -> dict[str, Any]:
    code, digest = multihash.decode(cid.multihash)
    info: dict[str, Any] = {
        "cid": cid, "version": cid.version, "codec": cid.codec_name, "codec_code": cid.codec,
        "hash": multihash.CODES.get(code, f"0x{code:x}"), "hash_code": code, "digest": digest.hex(),
        "digest_len": len(digest), "v1": str(cid.to_v1()), "links": [], "kind": "unknown",
    }
    try:
        data = load_block(ui.getter, cid)
    except JzfsError as exc:
        info.update(kind="missing", error=str(exc))
        return info
    info["size"] = len(data)
    if cid.codec == DAG_PB:
        from ..ipld import dagpb
        from ..unixfs import pb

        node = dagpb.decode(data)
        info["kind"] = "dag-pb"
        info["links"] = [{"name": ln.name or "", "cid": ln.cid, "tsize": ln.tsize}
                         for ln in node.links[: ui.limits.inspect_max_links]]
        info["more_links"] = max(0, len(node.links) - ui.limits.inspect_max_links)
        if node.data is not None:
            try:
                u = pb.decode(node.data)
                info["unixfs"] = {"type": u.type.name, "filesize": u.filesize,
                                  "blocksizes": len(u.blocksizes), "fanout": u.fanout,
                                  "data_bytes": len(u.data or b"")}
            except JzfsError as exc:
                info["unixfs_error"] = str(exc)
    elif cid.codec in (DAG_CBOR, DAG_JSON):
        value = codecs.decode(cid, data)
        info["kind"] = "ipld"
        info["lines"] = _value_lines(value, ui.limits.inspect_max_value_lines)
        info["links"] = [{"name": "", "cid": c, "tsize": None}
                         for c in codecs.links(cid, data)[: ui.limits.inspect_max_links]]
        if cid.codec == DAG_CBOR:
            from ..versioning.objects import Commit, Tag, decode_object

            try:
                obj = decode_object(cid, data)
            except JzfsError:
                obj = None
            if isinstance(obj, Commit):
                info["commit"] = obj
            elif isinstance(obj, Tag):
                info["tag"] = obj
    elif cid.codec == RAW:
        info["kind"] = "raw"
        info["hex"] = data[:ui.limits.inspect_hex_bytes].hex(" ")
    return info


async def inspect_page(ui: WebUI, q: Query) -> Reply:
    import trio

    text = (q.get("cid") or "").strip()
    if not text:
        return Html("inspect.html", {"info": None, "query": "", "nav": "inspect"})
    resolved = None
    try:
        if text.startswith(("/ipns/", "ipns://")):
            from ..api.h_name import ipns_service  # the resolver `jzfs name resolve` uses

            resolved = await ipns_service(ui.ctx).resolve(text)
        cid = await trio.to_thread.run_sync(parse_target, ui, resolved or text, abandon_on_cancel=True)
    except JzfsError as exc:
        return Html("inspect.html", {"info": None, "query": text, "error": str(exc), "nav": "inspect"}, 400)
    info = await trio.to_thread.run_sync(describe, ui, cid, abandon_on_cancel=True)
    return Html("inspect.html", {"info": info, "query": text, "resolved": resolved, "nav": "inspect"})


ROUTES = [("GET", r"/inspect", inspect_page)]
