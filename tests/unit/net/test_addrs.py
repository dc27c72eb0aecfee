"""net/addrs.parse_peer_multiaddr: the peer multiaddr check that imports no py-libp2p; it gives
what libp2p's `info_from_p2p_addr` gives (the peer ID in base58btc, the same errors)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from jiaozi_node.errors import InvalidInput
from jiaozi_node.net.addrs import parse_peer_multiaddr

PID = "12D3KooWRAVg8XzvEDEb6mHGZv6zxXhADxeH9pn8AMXr2DDGEAKk"
PID_CID = "bafzaajaiaejcbzahnbvrqxh5vimtfhmyq2m2e3wvdmorcvmb4eoobfgnucm5j4d3"  # the same key
QM = "QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC"


@pytest.mark.parametrize(("addr", "peer"), [
    (f"/ip4/127.0.0.1/tcp/4001/p2p/{PID}", PID),
    (f"/ip4/1.2.3.4/udp/1/quic-v1/p2p/{PID_CID}", PID),
    (f"/dns4/example.com/tcp/4/p2p/{QM}", QM),
    (f"/p2p/{PID}", PID),
    (f"/ip4/1.2.3.4/tcp/1/p2p/{QM}/p2p-circuit/p2p/{PID}", PID),  # the relayed peer, not the relay
])
def test_good(addr: str, peer: str) -> None:
    got, ma = parse_peer_multiaddr(addr)
    assert got == peer and str(ma).endswith(f"/p2p/{peer}")


@pytest.mark.parametrize(("addr", "why"), [
    ("/ip4/127.0.0.1/tcp/4001", "instead of `6`"),
    (f"/ip4/1.2.3.4/tcp/1/p2p/{PID}/tcp/5", "instead of `6`"),
    (f"/p2p/{PID}/p2p-circuit", "instead of `290`"),
    ("nonsense", "unknown protocol"),
    (f"/ip4/999.1.1.1/tcp/1/p2p/{PID}", "Invalid MultiAddr"),
    (f"/ip4/1.2.3.4/tcp/1/p2p/{QM[:-1]}", "Invalid CID"),
    ("", "should not be `None`"),
])
def test_bad(addr: str, why: str) -> None:
    with pytest.raises(InvalidInput, match=r"invalid peer multiaddr .*\(need …/p2p/<peer ID>\): .*" + why):
        parse_peer_multiaddr(addr)


def test_imports_no_libp2p() -> None:
    code = ("import sys\nfrom jiaozi_node.net.addrs import parse_peer_multiaddr\n"
            f"parse_peer_multiaddr('/ip4/127.0.0.1/tcp/1/p2p/{PID}')\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('libp2p', 'trio')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
