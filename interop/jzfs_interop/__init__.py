"""Harness for testing jiaozi_node against real peers (Kubo 0.22, Helia 7), loopback only.

Lives in ``interop/jzfs_interop`` and is put on ``sys.path`` by ``interop/conftest.py``. It is
deliberately NOT called ``interop``: py-libp2p installs a top-level package of that name.
"""

from .netns import ensure_confined, enter_loopback_ns, is_loopback_only, run_in_loopback_ns
from .rpc import PeerDied, PeerError, PeerTimeout

__all__ = ["PeerDied", "PeerError", "PeerTimeout", "ensure_confined", "enter_loopback_ns",
           "is_loopback_only", "run_in_loopback_ns"]
