"""The py-libp2p code our transport copies, wraps or bypasses, pinned by a hash of its source.

When py-libp2p changes one of these (an upgrade, a different pin), this test fails and names the
place to re-check: our copy or fix may now be wrong, or no longer needed. Update the hash only
after re-reading the upstream change against the module named in the message.
The source is read from the installed files (not from the live objects, which we patch).
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect

import pytest

# (module, qualified name) -> (sha256 of its source, what of ours depends on it)
PINS = {
    ("libp2p.identity.identify.identify", "_mk_identify_protobuf"):
        ("e9865f808581c488d9b98cfa9ecda93f4d31ee156007ad2264fa19013bc69a62",
         "libp2p_fixes fix 1 (per-host agent version)"),
    ("libp2p.stream_muxer.muxer_multistream", "MuxerMultistream.new_conn"):
        ("f5db4ef7863df96251ae254df204fd12712461e48c0bbca82b168217401f53cd",
         "libp2p_fixes fix 2 (the registered muxer is constructed)"),
    ("libp2p.network.swarm", "Swarm._notify"):
        ("cc84e6f58c821f4a23465d295465fc1bcbf9c32856fcc391056f697eff6f932e",
         "libp2p_fixes fix 3 (no-op stream notifees skipped)"),
    ("libp2p.network.connection.swarm_connection", "SwarmConn._cleanup"):
        ("fb70ac9a96d7cfa1100b44fe51a8a4ba1db8a8ecf5197cd9ae4afa2d9c1f2b94",
         "libp2p_fixes fix 4 (a copy of this body without the shutdown sleep)"),
    ("libp2p.network.swarm", "Swarm.dial_peer"):
        ("79032a193517ab1b7f8e028e30e5ac67f7994827084de8f8416988d834d73bcc",
         "libp2p_host.connect avoids its 250 ms dial delay (libp2p_fixes note 5)"),
    ("libp2p.network.swarm", "Swarm.dial_addr"):
        ("fdbe466350418f96c8a2bfdd5648e85a5a37d6131885f875f90a558b9d7d7cf3",
         "libp2p_host.connect dials through it (libp2p_fixes note 5)"),
    ("libp2p.stream_muxer.yamux.yamux", "Yamux"):
        ("0719f0c451b7c21a93bb9580660140abec8c475c7d623b6ce1dd3f2fdcf5f2bd",
         "net/transport/yamux.py replaces this muxer (same constructor and IMuxedConn API)"),
    ("libp2p.security.noise.io", "NoiseTransportReadWriter"):
        ("e7ce602eede3a570d441ba5be37c3c04989110e4d64a40be0a593e7c1dee07b5",
         "net/transport/noise_io.py reads .noise_state and .read_writer.read_write_closer"),
    ("libp2p.security.secure_session", "SecureSession"):
        ("5c5a5c7b8de1ac73d26df2c5d106f5a1465d052f6482979b3a45afd1a4f1baa0",
         "net/transport/noise_io.py takes over after ._drain() of its buffer"),
    ("noise.state", "CipherState.decrypt_with_ad"):
        ("a7c874ec3242ce3c52ca707b0926802254079f0a54d2a2460c567394abe2c2f2",
         "net/transport/noise_io.py decrypts memoryviews through it (NoiseConnection.decrypt wants bytes)"),
    ("libp2p.host.basic_host", "BasicHost._swarm_stream_handler"):
        ("dfae09ff1a87b198f19a9674f79aee4ee5d5df023a2109e5e781f85032e6ce27",
         "net/transport/inbound.py answers in its place on our Yamux streams (same handler registry)"),
    ("libp2p.network.swarm", "Swarm.set_stream_handler"):
        ("a4f3d25cd98d4297c5998549cc589710ebc4cf8277aa088eadacf6250a87bc00",
         "libp2p_host installs net/transport/inbound.py as the swarm's stream handler"),
    ("libp2p.network.stream.net_stream", "NetStream.read"):
        ("aa4665f858b5bedf5c6d79306a91f15c6dded56ccdfe40c2ed17a115a9f9e467",
         "libp2p_host.Stream reads our Yamux stream directly instead (only state tracking skipped)"),
    ("libp2p.network.connection.swarm_connection", "SwarmConn._handle_muxed_stream"):
        ("1281c0daa0af15284b4fb5da6f10ca7ac1574ad02745fec6fcad85b106b82849",
         "libp2p_fixes fix 6 (our handlers get a DirectStream; others still go this way)"),
}


def upstream_source(module: str, qualname: str) -> str:
    path = inspect.getsourcefile(importlib.import_module(module))
    assert path is not None
    text = open(path, encoding="utf-8").read()
    body: list[ast.stmt] = ast.parse(text).body
    node: ast.AST | None = None
    for part in qualname.split("."):
        node = next((n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                         ast.ClassDef)) and n.name == part), None)
        assert node is not None, f"{module}.{qualname} no longer exists upstream"
        body = node.body  # type: ignore[attr-defined]
    src = ast.get_source_segment(text, node)
    assert src is not None
    return src


@pytest.mark.parametrize(("module", "qualname"), sorted(PINS))
def test_upstream_source_unchanged(module, qualname):
    want, why = PINS[(module, qualname)]
    got = hashlib.sha256(upstream_source(module, qualname).encode()).hexdigest()
    assert got == want, f"py-libp2p changed {module}.{qualname}: re-check {why}"


def test_the_pinned_py_libp2p_version():
    from importlib.metadata import version

    assert version("libp2p") == "0.8.1", "py-libp2p is pinned to 0.8.1: re-check every PIN"
