"""IPLD core: CIDs, multihashes, blocks and the dag-pb / dag-cbor / dag-json codecs (pure)."""

from .block import Block, verify
from .cid import CID, DAG_CBOR, DAG_JSON, DAG_PB, RAW

__all__ = ["CID", "Block", "verify", "RAW", "DAG_PB", "DAG_CBOR", "DAG_JSON"]
