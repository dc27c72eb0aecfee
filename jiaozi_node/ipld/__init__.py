"""IPLD core: CIDs, multihashes, blocks and the dag-pb / dag-cbor / dag-json codecs (pure)."""

from .block import Block, verify
from .cid import DAG_CBOR, DAG_JSON, DAG_PB, RAW, CID

__all__ = ["CID", "Block", "verify", "RAW", "DAG_PB", "DAG_CBOR", "DAG_JSON"]
