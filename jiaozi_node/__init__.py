"""jiaozi_node: an IPFS-compatible peer-to-peer node with versioned, signed datasets.

The Python API mirrors the `jzfs` CLI: `Node.open()` for synchronous work on the local repo,
`async with node.online()` (trio) for the peer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import JzfsError

if TYPE_CHECKING:
    from .ipld import CID, Block
    from .node import Node
    from .repo import Repo

__version__ = "0.1.0"
__all__ = ["Node", "Repo", "CID", "Block", "JzfsError", "__version__"]

# Imported on first use (PEP 562), so `import jiaozi_node.cli.main` (every `jzfs` start) does not
# load the codecs, the node and the repo before a command needs them.
_LAZY = {"Node": ".node", "Repo": ".repo", "CID": ".ipld", "Block": ".ipld"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
