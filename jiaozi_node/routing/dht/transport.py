"""The DHT's wire I/O over `Libp2pHost`: inbound streams served by the pure `server.handle`,
outbound requests (one per stream) and frame-only sends (ADD_PROVIDER). Used by `DhtRouter`.

Malformed input (RemoteProtocolError / LimitExceeded) resets the stream and counts against the
peer; at `max_bad_messages` it leaves the routing table and is disconnected. A request we refuse
(an invalid record) resets the stream without counting as garbage. Inbound streams are bounded
per peer and in total.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import trio

from ...config import DhtLimits
from ...errors import InvalidInput, JzfsError, LimitExceeded, NetworkError, RemoteProtocolError
from . import addrs as maddr
from . import message as m
from .server import DhtState, handle

if TYPE_CHECKING:
    from ...net.host import Host

logger = logging.getLogger(__name__)


class DhtTransport:
    def __init__(self, host: Host, protocol: str, state: DhtState, limits: DhtLimits,
                 clock: Callable[[], float], counters: dict[str, int]) -> None:
        self.host = host
        self.protocol = protocol
        self.state = state
        self.limits = limits
        self.clock = clock
        self.counters = counters
        self.nursery: trio.Nursery | None = None  # set while the router runs
        self._bad: dict[str, int] = {}
        self._inbound: dict[str, int] = {}
        self._inbound_total = 0

    async def handle_stream(self, stream: Any) -> None:
        """Serve one inbound stream: requests answered in order until it ends or idles."""
        peer = stream.remote_peer
        lim = self.limits
        if self.nursery is None:  # stopped
            await stream.reset()
            return
        if (self._inbound.get(peer, 0) >= lim.max_inbound_streams_per_peer
                or self._inbound_total >= lim.max_inbound_streams):
            self.counters["refused_streams"] += 1
            await stream.reset()
            return
        self._inbound[peer] = self._inbound.get(peer, 0) + 1
        self._inbound_total += 1
        reader = m.FrameReader(max_message_bytes=lim.max_message_bytes)
        try:
            while True:
                with trio.move_on_after(lim.stream_idle_timeout_s):
                    data = await stream.read()
                    if not data:
                        return
                    out = []
                    for raw in reader.feed(data):
                        req = m.decode(raw, limits=lim)
                        self.counters["requests_in"] += 1
                        ans = handle(self.state, peer, req, self.clock())
                        if ans is not None:
                            out.append(m.frame(m.encode(ans)))
                    if out:
                        await stream.write(b"".join(out))
                    continue
                return  # idle
        except (RemoteProtocolError, LimitExceeded) as exc:
            await stream.reset()
            self.misbehaved(peer, str(exc))
        except InvalidInput as exc:  # a request we refuse (an invalid record): not garbage
            logger.info("dht: refused request from %s: %s", peer, exc)
            await stream.reset()
        except JzfsError as exc:
            logger.debug("dht: stream from %s ended: %s", peer, exc)
        finally:
            self._inbound_total -= 1
            n = self._inbound[peer] - 1
            if n:
                self._inbound[peer] = n
            else:
                del self._inbound[peer]

    def misbehaved(self, peer: str, why: str) -> None:
        self.counters["bad_messages"] += 1
        n = self._bad[peer] = self._bad.get(peer, 0) + 1
        logger.warning("dht: bad message from %s: %s", peer, why)
        if n >= self.limits.max_bad_messages:
            self.counters["dropped_peers"] += 1
            self.state.table.remove(peer)
            if self.nursery is not None:
                self.nursery.start_soon(self._disconnect, peer)

    async def _disconnect(self, peer: str) -> None:
        try:
            await self.host.disconnect(peer)
        except JzfsError:
            pass

    async def _ensure_connected(self, peer: str) -> None:
        if self.host.is_connected(peer):
            return
        addrs = maddr.dialable(maddr.to_text(self.state.addrs.get(peer, self.clock()), peer_id=peer))
        if not addrs:
            raise NetworkError(f"no dialable address known for {peer}")
        err: Exception | None = None
        for a in addrs:
            try:
                await self.host.connect(f"{a}/p2p/{peer}")
                return
            except JzfsError as exc:
                err = exc
        raise NetworkError(f"cannot reach {peer}: {err}")

    async def open(self, peer: str) -> Any:
        await self._ensure_connected(peer)
        return await self.host.new_stream(peer, [self.protocol])

    async def request(self, peer: str, req: m.Message) -> m.Message:
        """Send one request and read its answer (bounded by request_timeout_s)."""
        self.counters["requests_out"] += 1
        try:
            with trio.fail_after(self.limits.request_timeout_s):
                stream = await self.open(peer)
                try:
                    await stream.write(m.frame(m.encode(req)))
                    reader = m.FrameReader(max_message_bytes=self.limits.max_message_bytes)
                    while True:
                        data = await stream.read()
                        if not data:
                            raise NetworkError(f"{peer} closed the DHT stream without answering")
                        frames = reader.feed(data)
                        if frames:
                            ans = m.decode(frames[0], limits=self.limits)
                            if ans.type != req.type:
                                raise RemoteProtocolError(f"dht: asked {m.TYPE_NAMES[req.type]}, "
                                                          f"got {m.TYPE_NAMES[ans.type]}")
                            return ans
                finally:
                    await stream.close()
        except trio.TooSlowError:
            self.counters["failed_requests"] += 1
            raise NetworkError(f"{peer} did not answer within {self.limits.request_timeout_s}s") from None
        except (RemoteProtocolError, LimitExceeded) as exc:
            self.counters["failed_requests"] += 1
            self.misbehaved(peer, str(exc))
            raise
        except JzfsError:
            self.counters["failed_requests"] += 1
            raise

    async def send_frames(self, peer: str, frames: Sequence[bytes]) -> None:
        """Write frames that have no answer (ADD_PROVIDER) on one stream, then close it. Each
        step (open, every provide_frames_per_write frames) gets request_timeout_s: a stalled
        peer fails, a big batch to a slow-but-live peer does not."""
        t = self.limits.request_timeout_s
        step = max(1, self.limits.provide_frames_per_write)
        with trio.fail_after(t):
            stream = await self.open(peer)
        try:
            for i in range(0, len(frames), step):
                with trio.fail_after(t):
                    await stream.write(b"".join(frames[i : i + step]))
        finally:
            await stream.close()
