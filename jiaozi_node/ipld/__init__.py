"""IPLD core: CIDs, multihashes, blocks and the dag-pb / dag-cbor / dag-json codecs (pure).

The names below load on first use (PEP 562), so `import jiaozi_node.ipld.cid` (e.g. `jzfs cid
format`) does not also load `ipld.block`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .block import Block, verify
    from .cid import CID, DAG_CBOR, DAG_JSON, DAG_PB, RAW

__all__ = ["CID", "Block", "verify", "RAW", "DAG_PB", "DAG_CBOR", "DAG_JSON"]
_HOME = {"Block": "block", "verify": "block", "CID": "cid", "RAW": "cid", "DAG_PB": "cid",
         "DAG_CBOR": "cid", "DAG_JSON": "cid"}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{_HOME[name]}", __name__), name)
    globals()[name] = value
    return value
