"""A lean, dial-only libp2p client for one-shot commands: imports no py-libp2p.

`import libp2p` costs ~0.6 s (py-libp2p 0.8.1 imports QUIC, aioquic, requests, dnspython,
zeroconf at import time), more than Kubo needs for a whole `get`. One-shot commands dial over
TCP with these modules instead; the daemon keeps py-libp2p (`net/libp2p_host.py`).

- `multistream` (pure) / `negotiate` (trio): multistream-select 1.0.0.
- `noise` (pure) / `secure` (trio): the libp2p Noise XX handshake and transport.

Nothing under `net/lite` may import `libp2p`, directly or transitively
(tests/unit/net/lite/test_no_libp2p.py).
"""
