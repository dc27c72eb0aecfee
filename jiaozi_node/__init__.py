"""jiaozi_node: an IPFS-compatible peer-to-peer node with versioned, signed datasets.

The Python API mirrors the `jzfs` CLI: `Node.open()` for synchronous work on the local repo,
`async with node.online()` (trio) for the peer.
"""

from .errors import JzfsError
from .ipld import CID, Block
from .node import Node
from .repo import Repo

__version__ = "0.1.0"
__all__ = ["Node", "Repo", "CID", "Block", "JzfsError", "__version__"]
