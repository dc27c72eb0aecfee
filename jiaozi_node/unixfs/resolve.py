"""UnixFS path resolution (pure): `/ipfs/CID/a/b` to the CID of `b`, through plain and
HAMT-sharded directories.

Resolution never follows symlinks (as Kubo's resolver: a symlink is an entry, not a redirect), so a
path cannot escape the DAG it names.
"""

from __future__ import annotations

from ..errors import InvalidInput, NotFound
from ..ipld.cid import CID
from .exporter_data import BlockGetter, get_node
from .exporter_hamt import hamt_lookup


def parse_path(text: str) -> tuple[CID, list[str]]:
    """Split `CID[/path]`, `/ipfs/CID[/path]` or `ipfs://CID[/path]` into (root CID, segments).

    Empty segments (`a//b`, a trailing `/`) are dropped, as Kubo does. Raises InvalidInput for an
    invalid CID or an unsupported namespace such as /ipns/.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("empty path")
    s = text.strip()
    if s.startswith("ipfs://"):
        s = s[len("ipfs://"):]
    elif s.startswith("/"):
        parts = s.split("/", 3)
        if len(parts) < 3 or parts[1] != "ipfs":
            ns = parts[1] if len(parts) > 1 else ""
            raise InvalidInput(f"unsupported path namespace /{ns}/ in {text!r} (only /ipfs/ paths)")
        s = "/".join(parts[2:])
    head, _, rest = s.partition("/")
    try:
        root = CID.decode(head)
    except InvalidInput:
        raise InvalidInput(f"invalid path {text!r}: {head!r} is not a valid CID") from None
    return root, [seg for seg in rest.split("/") if seg]


def resolve_trace(getter: BlockGetter, root: CID, segments: list[str]) -> tuple[CID, list[CID]]:
    """Resolve `segments` under `root`.

    Returns the target CID and the CIDs of every block read to get there (the root, each
    directory, each HAMT shard on the way), in traversal order, without the target itself:
    exactly the blocks a trustless CAR must carry before the target to prove the path.
    Raises NotFound("no link named X under CID") when a segment does not exist, InvalidInput when
    a segment would go through a file or symlink, CodecError for malformed UnixFS.
    """
    current = root
    trail: list[CID] = []
    for seg in segments:
        node = get_node(getter, current)
        if node.kind == "directory":
            trail.append(current)
            for link in node.links:
                if link.name == seg:
                    current = link.cid
                    break
            else:
                raise NotFound(f"no link named {seg!r} under {current}")
        elif node.kind == "hamt-shard":
            link, shards = hamt_lookup(getter, node, seg)
            trail.extend(s.cid for s in shards)
            current = link.cid
        else:
            raise InvalidInput(f"cannot resolve {seg!r} under {current}: it is a {node.kind}, "
                               "not a directory")
    return current, trail


def resolve(getter: BlockGetter, root: CID, path: str | list[str] = "") -> CID:
    """The CID at `path` (a '/'-separated string or a list of segments) under `root`."""
    segments = [s for s in path.split("/") if s] if isinstance(path, str) else list(path)
    return resolve_trace(getter, root, segments)[0]
