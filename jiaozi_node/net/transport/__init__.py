"""The parts of the libp2p connection stack we own, on top of py-libp2p 0.8.1 (pinned).

- `yamux`: the py-libp2p face of our Yamux muxer (the session itself is `net/yamux_session.py`,
  which imports no libp2p; py-libp2p's own muxer is replaced, see `yamux` for why).
- `noise_io`: whole-Noise-message plaintext I/O under that muxer (bypasses py-libp2p's
  per-message SecureSession layers once the muxer owns the connection).
- `inbound`: multistream-select for inbound streams on that muxer (the pure `lite.multistream`
  Responder instead of py-libp2p's Multiselect; same handler registry).
- `libp2p_fixes`: the few class-level fixes to py-libp2p functions (applied once, idempotent,
  the same for every host); every per-host setting (limits, agent version) is carried by the
  host's own objects, never written into py-libp2p's module globals.

`tests/unit/net/transport/test_upstream_pins.py` fails when an upstream function we copied or
patch changes, so an upgrade of py-libp2p re-checks each of them.
Only these modules and `net/libp2p_host.py` import `libp2p`.
"""
