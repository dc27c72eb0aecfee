"""Every default and every limit of jiaozi_node, defined once.

Nothing else in the package hard-codes a size, a count or a timeout: modules take these values as
keyword arguments whose defaults come from here, so a test or a user can change one without
monkey-patching. Each limit carries the reason it exists (mostly: a remote peer or a file must not
be able to make us allocate, loop or wait without bound).

All values are frozen dataclasses; there are no mutable module globals.

How a limit reaches the code that applies it (checked by tests/unit/core/test_config.py):
- The node's typed config is `Defaults` (`Node.defaults`, handed to `Node(defaults=...)`); the
  user's config file is `user_config.UserConfig` (`Repo.settings` / `Node.settings`). Code that
  holds a Node (or an owner built from one: `OnlineNode`, `ApiContext.limits`, a service's
  `limits`) passes its values down as constructor or function keyword arguments.
- No module reads a `*_LIMITS` or `*_TUNING` singleton when it runs: not inside a function
  body, not through a module-level copy (`MAX_X = X_LIMITS.max_x`).
- A keyword argument may default to a singleton's field (`max_cid_bytes: int =
  IPLD_LIMITS.max_cid_bytes`). That default is only for library users calling a module directly
  (tests, notebooks, bench/) and for entry points that have no Node yet (the CLI's daemon client
  probes the daemon before any repo is opened); the node's own code passes its Defaults' value.
  Where every caller is node code (RPC handlers' `first_part`/`iter_parts`, a Yamux connection)
  the argument has no default at all.
"""

from __future__ import annotations

from dataclasses import field, replace

from .frozen import dataclass  # dataclasses.dataclass(frozen=True) without its exec() per class

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB


# --------------------------------------------------------------------------------------------
# Content addressing / IPLD
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IpldLimits:
    # A CIDv1 with a 64-byte digest is ~70 bytes; 168 leaves room for any real multihash while a
    # hostile length prefix cannot make us buffer more.
    max_cid_bytes: int = 168
    # Blocks larger than this are refused everywhere (import, bitswap, CAR, gateway). Kubo and
    # Helia refuse blocks over 2 MiB on the network for the same reason: a block must fit in one
    # message and be verifiable before anything else is done with it.
    max_block_bytes: int = 2 * MiB
    # Identity multihashes inline data in the CID itself; Kubo caps them at 128 bytes.
    max_identity_digest: int = 128
    # DAG-CBOR/DAG-JSON nesting depth accepted when decoding (and written when encoding): the
    # json module and the dag-cbor library decode by recursion, so deeper input is refused by
    # ipld/depth.py's scan before they see it (1000 nested arrays were a RecursionError). Real
    # IPLD data nests a few levels; 256 leaves room and stays far below Python's stack limit.
    max_decode_depth: int = 256
    # `dag put` input read from stdin/a file: the encoded block must fit max_block_bytes, and its
    # DAG-JSON text (base64 bytes, escapes, whitespace) can be a few times larger; nothing bigger
    # can produce an acceptable block, so we stop reading there.
    max_dag_put_input_bytes: int = 8 * MiB


IPLD_LIMITS = IpldLimits()


@dataclass(frozen=True)
class CarLimits:
    # A CARv1 header is a tiny dag-cbor map ({roots, version}); go-car allows 32 MiB, but a real
    # header with even 1000 roots is ~40 KiB. 1 MiB keeps a hostile length prefix from making us
    # buffer much before we have parsed anything.
    max_header_bytes: int = 1 * MiB
    # Roots listed in a header (Kubo exports 1; `dag import` pins each one).
    max_roots: int = 1024
    # One section is varint(len) + CID + block: anything over max block + max CID is not a block
    # any IPFS implementation would accept, so it is refused before its bytes are buffered.
    max_section_bytes: int = 2 * MiB + 168
    # `dag import` stages verified blocks before committing them to the store (all or nothing):
    # in memory up to this many bytes, then in a temporary file next to the repo.
    max_staging_memory_bytes: int = 256 * MiB
    # Bytes of staged blocks handed to one Blockstore.put_many once a CAR verified (one
    # transaction each): bounds the blocks held in memory by one write batch.
    import_put_batch_bytes: int = 8 * MiB


CAR_LIMITS = CarLimits()


@dataclass(frozen=True)
class IoTuning:
    """Buffer sizes of the CLI, the RPC client and file writers (speed and memory only)."""

    # Bytes per read() of a local file or stdin streamed by the CLI (`dag import` files, bodies
    # sent to the daemon): large enough for few syscalls, small enough to bound memory.
    read_bytes: int = 1 * MiB
    # Write buffer of a file written by `jzfs get` (one syscall per this many bytes).
    write_buffer_bytes: int = 1 * MiB
    # `/api/v0/add` sends a progress line after at least this many new bytes (Kubo: per chunk;
    # one line per MiB keeps the stream small for big files).
    add_progress_every_bytes: int = 1 * MiB
    # `get`/`cat` through a daemon on the same repo (cli/daemon_fetch.py): how often the CLI looks
    # again for a block the daemon is still fetching. A look is a memory read when the store did
    # not change; the daemon stores blocks in batches of BitswapLimits.store_batch_bytes
    # (~50 ms apart at 150 MB/s), so 5 ms adds little wait and little CPU.
    daemon_store_poll_s: float = 0.005
    # ... and how often the daemon, while it fetches for such a reader, stores the verified blocks
    # it holds back (else they wait for a full store batch, up to 8 MiB: the reader could not start
    # before 8 MiB had arrived and had up to 16 MiB left to read when the fetch ended). Each store
    # is a commit (two fdatasyncs, ~2-4 ms, in a worker thread): ~30 per second at most.
    daemon_fetch_flush_s: float = 0.03


IO_TUNING = IoTuning()


@dataclass(frozen=True)
class TreeLimits:
    """Writing trees to disk (`get`, `checkout`) and walking them (diff, merge, exporters).

    The DAG comes from anyone: these bound what a hostile tree can make us create or hold.
    """

    # Deepest directory nesting walked or written. Each level holds one decoded directory node
    # while walking (and a name set while writing); real datasets nest a few dozen levels, and at
    # 2048 one-character levels a path already exceeds PATH_MAX (4096), which most tools need.
    max_tree_depth: int = 2048
    # Longest name of one entry in UTF-8 bytes: NAME_MAX of Linux filesystems (ext4, xfs, btrfs,
    # tmpfs); a longer name cannot be created, so it is refused before anything is written.
    max_name_bytes: int = 255
    # Longest symlink target: PATH_MAX (4096) including the terminating NUL.
    max_symlink_target_bytes: int = 4095
    # Directory file descriptors the writer keeps open (the innermost ones); deeper ancestors are
    # closed and reopened by name, one O_NOFOLLOW step at a time, when the walk returns to them.
    # Bounds descriptors whatever the depth (the default soft limit is often 1024).
    writer_open_dirs: int = 64
    # `jzfs get` through a daemon (api/tree_stream.py): largest frame; file bytes are sent in
    # frames of at most this size, entry headers (a path of max_tree_depth names) are smaller.
    stream_frame_bytes: int = 1 * MiB


TREE_LIMITS = TreeLimits()


# --------------------------------------------------------------------------------------------
# UnixFS import profiles (IPIP-499)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportProfile:
    """Settings for turning files into UnixFS DAGs.

    `unixfs-v1-2025` (IPIP-499) is our default, as in Helia. `unixfs-v0-2015` is Kubo's legacy
    default. Flags given after a profile override single fields with `dataclasses.replace`, the
    way Kubo applies `--cid-version` etc. on top of `Import.*` config.
    """

    name: str
    cid_version: int
    raw_leaves: bool
    chunker: str  # "size-N", "rabin[-min-avg-max]" or "buzhash"
    max_links: int  # children per interior node in the balanced layout
    layout: str = "balanced"  # or "trickle"
    # Directories whose estimated dag-pb block size would exceed this become HAMT shards.
    # Kubo (boxo) and Helia both use 256 KiB ("size-based" sharding since Kubo 0.12).
    hamt_threshold_bytes: int = 256 * KiB
    # How the directory size compared with hamt_threshold_bytes is estimated (IPIP-499):
    # "links" = sum of link name + CID byte lengths (Kubo/boxo legacy, unixfs-v0-2015);
    # "block" = exact serialized dag-pb block size (unixfs-v1-2025, boxo SizeEstimationBlock,
    # Helia shardSplitStrategy 'block-bytes'). Sharding happens when the estimate is > threshold.
    hamt_size_estimation: str = "links"
    hamt_fanout: int = 256
    hash_function: str = "sha2-256"

    def with_overrides(self, **changes: object) -> ImportProfile:
        """A copy with some fields changed, applying Kubo's implied rules (boxo UnixfsAddOptions).

        - a hash other than sha2-256 without a CID version implies CIDv1;
        - asking for CIDv1 implies raw leaves, asking for CIDv0 implies dag-pb leaves (Kubo's
          default for v0), unless raw leaves was given explicitly. So `--cid-version 0` under
          unixfs-v1-2025 gives the `Qm…` CID Kubo gives, not a CIDv1 raw leaf.
        """
        changes = {k: v for k, v in changes.items() if v is not None}
        if changes.get("hash_function", "sha2-256") != "sha2-256" and "cid_version" not in changes:
            changes["cid_version"] = 1
        if "cid_version" in changes and "raw_leaves" not in changes:
            changes["raw_leaves"] = changes["cid_version"] == 1
        return replace(self, **changes)  # type: ignore[arg-type]


UNIXFS_V1_2025 = ImportProfile(
    name="unixfs-v1-2025", cid_version=1, raw_leaves=True, chunker=f"size-{1 * MiB}", max_links=1024,
    hamt_size_estimation="block",
)
UNIXFS_V0_2015 = ImportProfile(
    name="unixfs-v0-2015", cid_version=0, raw_leaves=False, chunker=f"size-{256 * KiB}", max_links=174
)
PROFILES: dict[str, ImportProfile] = {p.name: p for p in (UNIXFS_V1_2025, UNIXFS_V0_2015)}
DEFAULT_PROFILE = UNIXFS_V1_2025

# Trickle layout constants, as defined by go-unixfs / js-ipfs-unixfs.
TRICKLE_LAYER_REPEAT = 4


@dataclass(frozen=True)
class AddTuning:
    """How `jzfs add` moves bytes (speed and memory only; never changes a CID)."""

    # Bytes per read() from a file: a few chunks per call keeps syscalls and Python overhead low;
    # the buffer is reused, so this is also the read side's whole memory.
    read_bytes: int = 4 * MiB
    # Threads hashing leaves (hashlib releases the GIL): the machine has 2 cores.
    hash_threads: int = 2
    # Chunks hashed ahead of the layout: bounds memory to about this many chunks in flight
    # (fixed-size chunking raises it to 3 hash tasks, so both hashing threads stay busy).
    max_pending_chunks: int = 8
    # File bytes per hashing task (fixed-size chunks: this many bytes of chunks per thread-pool
    # hand-off instead of one future per 256 KiB chunk).
    hash_task_bytes: int = 1 * MiB
    # Bytes of blocks handed to one Blockstore.put_many (one transaction); bounds buffered blocks
    # and the store pages one transaction maps (a 16 MiB transaction mapped 30-40 MB of LMDB
    # pages before the release). Measured, 1 GiB `jzfs add` peak RSS (ru_maxrss): 16 MiB x 2
    # queued 190-198 MB, 8 MiB x 2 167 MB, 8 MiB x 1 157-159 MB (no slower), 4 MiB x 2 138 MB
    # (~10% slower: twice the fsyncs). Since leaves are views of a reused ring (node.leaf_ring,
    # pack engine) RSS is ~50 MB at 8 MiB; 16 MiB (two fdatasyncs per 16 MiB, not per 8) made
    # 256 MiB adds ~20% faster on the loaded 2-core machine, for ~16 MB more of ring.
    put_batch_bytes: int = 16 * MiB
    # Write batches from a background thread while reading/hashing go on, at most this many
    # queued behind the one being built (memory: about (1 + this) * put_batch_bytes of blocks).
    background_writes: bool = True
    max_batches_in_flight: int = 1


ADD_TUNING = AddTuning()


# --------------------------------------------------------------------------------------------
# Repository
# --------------------------------------------------------------------------------------------

REPO_ENV = "JZFS_PATH"
DEFAULT_REPO_DIR = "~/.jzfs"
CONFIG_FILE = "config"


@dataclass(frozen=True)
class StoreLimits:
    """Blockstore engine settings (see docs/blockstore.md for the measurements behind them)."""

    # Largest LMDB map (address space, not disk): bounds the repo size at 1 TiB; raise for bigger
    # repos.
    lmdb_map_size: int = 1 << 40
    # The map (and, with writemap, the sparse data file) starts at this size and doubles as needed.
    lmdb_initial_map_size: int = 256 * MiB
    # Concurrent read transactions across all processes sharing the repo (LMDB's reader table).
    lmdb_max_readers: int = 512
    # After this many bytes read or written through LMDB's file mapping, the process unmaps the
    # store's pages (they stay in the page cache): keeps RSS bounded while adding or serving GiBs.
    # 8 MiB = one release per `jzfs add` put batch. Each write fault maps more than the page
    # written (read-around with this disk's 8 MiB read_ahead_kb, large folios): a v0 add of
    # 256 MiB peaked at ~100 MB of mapped store pages with 16 MiB, ~80 MB with 8 MiB.
    lmdb_unmap_after_bytes: int = 8 * MiB
    # put batches whose blocks average under this size are written with fault read-around off
    # (MADV_RANDOM): otherwise each random B-tree page dirtied drags a large read-around folio
    # into the commit's write-back (~800 KiB written per 1 KiB block at 500k blocks stored).
    # Larger blocks keep read-around: it doubles the throughput of sequential overflow pages.
    lmdb_small_block_bytes: int = 64 * KiB
    # put_many commits (and fsyncs) once per this many bytes: bounds what one transaction holds
    # (the blocks of a lazily generated batch, dirty pages) while one fsync per 64 MiB keeps it at
    # 16 fsyncs per GiB written.
    max_batch_bytes: int = 64 * MiB
    # Stray temporary files (from a killed writer) older than this are removed by `repo gc`.
    stale_tmp_seconds: float = 3600.0
    # GC deletes in transactions of this many blocks: few commits, yet the sweep's memory stays
    # bounded however many blocks are garbage.
    gc_sweep_chunk: int = 4096
    # Keys fetched per read transaction when listing a store (`cids()`): a slow consumer never
    # holds one LMDB snapshot (and the pages it pins) for long.
    list_chunk: int = 10_000
    # Pack engine (store/pack/, docs/blockstore.md). A pack file is sealed and a new one started
    # once it holds this much: bounds what one compaction rewrites and keeps files copyable.
    pack_max_bytes: int = 1 << 30
    # Recent commits are indexed from the active pack's batch tables (read by every process that
    # opens the store) until they hold this many entries or batches; then they are written out as
    # an index run. Bounds the open-time scan (~64 preads of whole tables) and the tail's RAM
    # (~150 B/entry).
    pack_tail_entries: int = 65_536
    pack_tail_batches: int = 1_024
    # Entries per batch written (one commit): bounds a commit's table and the tail scan's reads.
    # Reading accepts up to format.MAX_BATCH_ENTRIES, so lowering this never hides old batches.
    pack_batch_entries: int = 65_536
    # A new run is merged into the one before it while that one is at most this many times larger:
    # ~log2(N / pack_tail_entries) runs to search, each entry rewritten ~that many times (24-90
    # bytes each, never the block data).
    pack_merge_ratio: int = 2
    # Merges and listings work through the index in h-ranges of about this many entries, so
    # their memory stays ~20 MB whatever the store's size.
    pack_slice_entries: int = 262_144
    # After GC, sealed packs with at least this fraction of dead bytes are rewritten (their live
    # blocks copied forward) and deleted: disk space comes back, each byte is copied at most
    # ~once per halving of its pack.
    pack_compact_dead_ratio: float = 0.5
    # A lookup in an index run first bisects an in-memory list of every this-many-th key hash
    # (8 B each: 512 = one per 4 KiB page of the mapped column, ~32 KB of RAM per million
    # entries), then only that window of the mapped column.
    pack_run_fence: int = 512
    # Lookups of at least this many keys at once (a put_many's dedupe check, has_many) search
    # each index run with one vectorised numpy pass instead of key by key (~10x cheaper per key
    # for a 10 000-block batch at 2M blocks). Smaller batches stay in plain Python (<= ~7 ms at
    # 2M blocks) so that small commands never pay numpy's ~100 ms import.
    pack_vector_lookup_min: int = 512
    # Pack file descriptors kept open for reads (least recently used are closed).
    pack_open_files: int = 128
    # While a commit writes its blocks, the disk is told to start writing every this many bytes
    # (0: never), so its fdatasync waits for the last slice only instead of the whole body: the
    # disk writes while the rest is still being copied. 256 MiB as 32 commits on this machine:
    # 230-460 ms of writes and fdatasyncs without, 140-280 ms with 1 MiB slices (1, 2 and 4 MiB
    # alike within the noise).
    pack_writeback_kick_bytes: int = 2 * MiB
    # A reader whose run or pack file was merged or compacted away by another process re-reads
    # the manifest and tries again this many times before giving up with an error.
    pack_vanish_retries: int = 8
    # Bytes read at a time when a writer looks past damaged bytes in the active pack for the next
    # valid batch (only after a crash or disk damage).
    pack_resync_read: int = 1 * MiB
    # How long a SQLite writer (pins.db, the sqlite engine) waits for another process's
    # transaction before failing.
    sqlite_busy_timeout_ms: int = 30_000


STORE_LIMITS = StoreLimits()


# --------------------------------------------------------------------------------------------
# Networking (libp2p host, bitswap)
# --------------------------------------------------------------------------------------------

DEFAULT_SWARM_ADDRS: tuple[str, ...] = ("/ip4/127.0.0.1/tcp/4001",)
DEFAULT_API_ADDR = "/ip4/127.0.0.1/tcp/5001"
DEFAULT_GATEWAY_ADDR = "/ip4/127.0.0.1/tcp/8080"
AGENT_VERSION = "jzfs/0.1.0"
# Kubo's public bootstrap list. NEVER used unless the user opts in with
# `jzfs bootstrap add --default` (our default `Bootstrap` is empty: loopback only).
PUBLIC_BOOTSTRAP_PEERS: tuple[str, ...] = (
    "/dnsaddr/bootstrap.libp2p.io/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN",
    "/dnsaddr/bootstrap.libp2p.io/p2p/QmQCU2EcMqAqQPR2i9bChDtGNJchTbq5TbXJJ16u19uLTa",
    "/dnsaddr/bootstrap.libp2p.io/p2p/QmbLHAnMoJPWSCR5Zhtx6BHJX9KiKNN6tpvbUcqanj75Nb",
    "/dnsaddr/bootstrap.libp2p.io/p2p/QmcZf59bWwK5XFi76CZX8cbJ4BhTzzA3gU1ZjYZcYW3dwt",
    "/ip4/104.131.131.82/tcp/4001/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ",
)


@dataclass(frozen=True)
class BitswapLimits:
    # Kubo/boxo cap a message at 4 MiB; anything larger is either a bug or an attack.
    max_message_bytes: int = 4 * MiB
    # A single block may be up to 2 MiB (see IpldLimits.max_block_bytes).
    max_block_bytes: int = 2 * MiB
    # Entries accepted in one wantlist message; boxo's MaxWantlistEntriesPerMessage is 1024.
    max_wantlist_entries_per_message: int = 1024
    # Total wants remembered per peer: bounds memory a single peer can make us hold. The engine
    # queues answers as CIDs and loads a block only when it packs a message (target_message_bytes),
    # so this is also what bounds the work queued for one peer (no separate byte budget).
    max_wants_per_peer: int = 4096
    # Inbound bitswap streams one peer may have open at once (Kubo opens one per reply).
    max_inbound_streams_per_peer: int = 256
    # Misbehaviour score at which a peer is disconnected.
    penalty_disconnect_threshold: int = 100
    # Blocks at most this size are sent in reply to want-have (as Kubo does, saves a round trip).
    max_block_size_replace_has_with_block: int = 1024
    # Client: wants in flight per session.
    session_max_in_flight: int = 256
    # Client: how long to wait for any peer to answer before re-broadcasting a want.
    rebroadcast_interval_s: float = 1.0
    # Client: a fetch that no peer can serve fails after this long (configurable per call).
    fetch_timeout_s: float = 30.0
    # Server: blocks are packed into one outgoing message up to this size. Bigger messages mean
    # fewer per-message costs (protobuf, yamux frames, stream opens); far below the 4 MiB cap so
    # a receiver's limit is never hit and one peer's message cannot hog the sender for long.
    target_message_bytes: int = 1 * MiB
    # Penalty points (see penalty_disconnect_threshold): a block we never asked for (or whose
    # bytes hash to a CID we did not want) costs 10, so ten such blocks disconnect the peer; a
    # malformed or over-limit message costs 50 (two disconnect).
    penalty_unwanted_block: int = 10
    penalty_bad_message: int = 50
    # Client: a peer that has wants from us in flight and sent nothing for this long is
    # considered stalled: its wants are re-asked from other peers.
    peer_stall_timeout_s: float = 2.0
    # Client: how many peers without a known HAVE get a want-have when a want is first sent
    # (discovery; boxo broadcasts want-have to all session peers).
    want_have_fanout: int = 8
    # Client sessions (one per retrieval: a DAG fetch): a session remembers the peers that
    # delivered blocks to it and sends its next wants as want-block to them only (boxo's session
    # peer manager, Helia's session). Other peers get want-have only once the session has
    # received nothing for this long (boxo's idle tick), or at once when every preferred peer
    # said DONT_HAVE. 0.5 s is boxo's base session tick: a peer that has the block answers
    # within one round trip, one that lacks it says DONT_HAVE sooner, so only a silent
    # preferred peer costs this much; a busy one that keeps delivering is never bypassed.
    session_broadcast_delay_s: float = 0.5
    # Sessions remembered (least recently used forgotten first): the core is not told when a
    # retrieval ends, so this bounds their memory; more than concurrent retrievals need.
    max_sessions: int = 256
    # Preferred peers remembered per session (the first that delivered): bounds a session's
    # memory; a fetch is served well by far fewer (boxo's sessions rarely use more than a few).
    session_max_peers: int = 32
    # Client: received CIDs remembered so that late duplicates (sent before our cancel reached
    # the peer) are not counted as unwanted blocks.
    recent_received_cids: int = 4096
    # Retrieval: fetched blocks are written to the store in batches of this many bytes (one
    # transaction/fsync each; one fsync per 256 KiB block capped on-disk fetches at ~14 MB/s).
    # Bounds the fetched-but-unwritten bytes held in memory.
    store_batch_bytes: int = 8 * MiB
    # Server: outbound streams per peer carrying blocks (plus one for our wants). A py-libp2p
    # Yamux stream is flow-controlled by its 256 KiB window, so one stream caps a transfer at
    # window/RTT; Kubo opens a stream per reply for the same reason. Bounded: each costs a task.
    outbound_streams_per_peer: int = 4


BITSWAP_LIMITS = BitswapLimits()


@dataclass(frozen=True)
class NetLimits:
    """libp2p host settings (jiaozi_node.net). Timeouts bound every wait on a remote peer."""

    # Dial + Noise + Yamux upgrade of one connection; a peer that stalls the handshake is dropped.
    connect_timeout_s: float = 10.0
    # multistream-select on a new stream (both directions): a peer that never answers
    # cannot pin a stream (and its handler task) forever.
    negotiate_timeout_s: float = 10.0
    # Largest identify message read from a peer. go-libp2p caps it at 8 KiB for the signed
    # record plus the protocol list; 64 KiB leaves room while bounding memory per peer.
    max_identify_bytes: int = 64 * KiB
    # Identify / ping round trips: answered in milliseconds by a live peer.
    identify_timeout_s: float = 10.0
    ping_timeout_s: float = 10.0
    # Default size asked of one `Stream.read()`: large reads amortise per-call overhead in the
    # Python stack (yamux frames are at most 256 KiB with the window below).
    read_chunk_bytes: int = 1 * MiB
    # Connections per peer: one is what Kubo keeps. Extra ones (both sides dialing at once)
    # are trimmed by py-libp2p after its grace period.
    max_connections_per_peer: int = 1
    # Total connections before new inbound ones are refused (bounds memory and CPU).
    max_connections: int = 512
    # Yamux receive window per stream (spec minimum 256 KiB; go-yamux grows to 16 MiB). A
    # larger window lets the sender keep the pipe full with fewer window updates; it is also
    # the most a peer can make us buffer per stream (a DATA frame beyond it closes the conn).
    yamux_window_bytes: int = 1 * MiB
    # Window beyond the spec's 256 KiB granted, summed over one connection's streams: without
    # it a peer could open max_streams streams and make us buffer max_streams x window.
    # Worst case per connection: yamux_max_streams x 256 KiB + this.
    yamux_extra_window_budget_bytes: int = 32 * MiB
    # Streams open at once on one connection (go-yamux's MaxIncomingStreams is 1000); a SYN
    # beyond this is refused with RST. Bounds per-connection memory (x 256 KiB, see above).
    yamux_max_streams: int = 512
    # Inbound streams opened by the peer but not yet picked up by a handler task.
    yamux_accept_backlog: int = 256
    # Bytes of DATA queued for one connection's writer task before a stream's write() waits.
    yamux_max_queued_out_bytes: int = 1 * MiB
    # Replies the peer's own frames ask for (PING ACKs, RSTs of refused SYNs) queued while it
    # does not read them: beyond this the connection is closed, else a peer sending pings and
    # never reading would grow our send queue without end (go-yamux bounds these too).
    yamux_max_pending_replies: int = 1024
    # Peering.Peers reconnection backoff (Kubo's peering service uses 5 s .. 10 min).
    peering_backoff_min_s: float = 1.0
    peering_backoff_max_s: float = 600.0
    # A multistream-select line is a protocol ID: short. Anything longer is not negotiation.
    max_mss_message_bytes: int = 1024
    # Entries kept from one identify message (go-libp2p keeps at most a few hundred addresses).
    max_identify_entries: int = 1024
    # How long a dialed address stays in the peerstore (go-libp2p's TempAddrTTL is 2 min).
    peerstore_addr_ttl_s: float = 120.0
    # Bytes asked of the TCP socket per read under Noise: several Noise messages (64 KiB each)
    # per syscall, while bounding what one read buffers per connection.
    noise_socket_read_bytes: int = 256 * KiB


NET_LIMITS = NetLimits()


# --------------------------------------------------------------------------------------------
# Kademlia DHT (jiaozi_node.routing.dht)
# --------------------------------------------------------------------------------------------

DHT_PROTOCOL_WAN = "/ipfs/kad/1.0.0"  # the public Amino DHT
DHT_PROTOCOL_LAN = "/ipfs/lan/kad/1.0.0"  # Kubo's LAN DHT (accepts private/loopback peers)


@dataclass(frozen=True)
class DhtLimits:
    """Kademlia parameters and the limits that keep a hostile peer from costing us much."""

    # Bucket size and replication factor (libp2p kad-dht spec, go/js: 20): records go to the
    # k closest peers, a lookup ends once the k closest it knows have all answered.
    k: int = 20
    # Queries in flight per lookup (spec: alpha = 3 in go; js uses 3 too).
    alpha: int = 3
    # One DHT message (varint-prefixed protobuf). go-libp2p-kad-dht accepts 4 MiB, but a real
    # message is a few KiB (20 peers x a few addresses, or one <= 10 KiB record); 256 KiB is
    # far above any of those while a peer cannot make us buffer megabytes per stream.
    max_message_bytes: int = 256 * 1024
    # Keys: a multihash (<= 70 B), /pk/ or /ipns/ + a peer ID (<= 50 B). Anything longer is junk.
    max_key_bytes: int = 256
    # A record's value: the IPNS spec caps records at 10 KiB; a /pk/ value is an RSA-4096
    # public key at most (~550 B).
    max_record_value_bytes: int = 10 * 1024
    # Peers decoded from one message (closerPeers + providerPeers); honest peers send <= k each.
    max_peers_per_message: int = 64
    # Addresses kept per peer (and decoded per peer entry); each <= max_addr_bytes.
    max_addrs_per_peer: int = 16
    max_addr_bytes: int = 256
    # Routing table: at most k peers per bucket (so <= 256 x k by construction); this caps the
    # total too, bounding memory and the refresh work.
    max_table_peers: int = 2048
    # Provider records: a record lives 48 h unless re-announced (go: ProvideValidity = 48 h);
    # we announce our own every 22 h (go/Kubo: Reprovider.Interval = 22 h).
    provider_ttl_s: float = 48 * 3600
    reprovide_interval_s: float = 22 * 3600
    # Providers stored per key: answers carry <= k anyway; more only costs memory.
    max_providers_per_key: int = 64
    # Provider records stored in total (1 000 000 measured < 200 MB, bench/bench_dht.py), and per
    # providing peer, so one peer cannot fill the store and push out everyone else's records.
    max_provider_records: int = 1_000_000
    max_provider_records_per_peer: int = 250_000
    # Providers returned in one GET_PROVIDERS answer (go and js: k).
    max_providers_per_answer: int = 20
    # Value records (/pk/, /ipns/) stored, and how long one lives (go: MaxRecordAge = 36 h).
    max_records: int = 10_000
    record_ttl_s: float = 36 * 3600
    # Peer addresses remembered (for closerPeers answers and for dialling providers); entries
    # expire (go: ProviderAddrTTL = 24 h) and the least recently used go first past the cap.
    max_addr_book_peers: int = 20_000
    addr_ttl_s: float = 24 * 3600
    # Inbound DHT streams open at once, per peer and in total: each holds a task and a buffer.
    # (py-libp2p's kad_dht allows 12 in total, which a handful of busy peers exhaust.)
    max_inbound_streams_per_peer: int = 16
    max_inbound_streams: int = 512
    # A stream that carries no request for this long is closed (go: 1 min idle timeout).
    stream_idle_timeout_s: float = 60.0
    # One request/response round trip (dial included); a dead peer costs a lookup this much.
    request_timeout_s: float = 10.0
    # Queries one lookup may make before it gives up (a hostile network could otherwise feed
    # us fresh "closer" peers forever).
    max_lookup_queries: int = 256
    # Keys announced at once by `provide` (each a lookup + k ADD_PROVIDERs).
    provide_concurrency: int = 8
    # Keys from which `provide` announces by a keyspace sweep (routing/dht/sweep.py: one lookup
    # per half k-neighbourhood, the records to each peer batched on one stream) instead of one
    # lookup + k streams per key.
    provide_batch_threshold: int = 64
    # Routing-table refresh (self lookup + a random lookup per stale bucket), go: 10 min.
    refresh_interval_s: float = 600.0
    # Malformed messages from one peer before it is dropped from the table and disconnected.
    max_bad_messages: int = 3
    # A batch of ADD_PROVIDERs is written this many frames at a time (~60 KiB), each write
    # bounded by request_timeout_s: big writes, while a stalled peer is still noticed.
    provide_frames_per_write: int = 512
    # Provider-record expiry runs in steps of this many keys, yielding to the event loop in
    # between (a full pass over 1 000 000 records takes about a second).
    expire_step_keys: int = 10_000


DHT_LIMITS = DhtLimits()


# --------------------------------------------------------------------------------------------
# HTTP (gateway and RPC API)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpLimits:
    # Request line + headers: h11's default is 16 KiB; a header bigger than that is an attack.
    max_header_bytes: int = 16 * KiB
    # RPC request bodies (add, dag import, block put): bounded so a client cannot fill memory;
    # bodies are streamed, this is the total accepted.
    max_body_bytes: int = 64 * GiB
    # Gateway: how long to look for content before answering 504.
    gateway_timeout_s: float = 60.0
    # Gateway client: per-request timeout against a remote gateway.
    client_timeout_s: float = 30.0
    # Gateway client: requests per gateway for a CAR stream that keeps breaking off (network
    # trouble, not lying) before the next gateway is tried; bounds retries against a flaky one.
    client_max_attempts: int = 3
    # Gateway client: verified blocks are stored in batches of about this size (one store
    # transaction each); bounds the fetched-but-unstored bytes held in memory.
    client_store_batch_bytes: int = 8 * MiB
    # Gateway client: the CAR decoder is fed at most this much at a time, so when it raises on a
    # bad section the verified blocks decoded from earlier slices are already kept.
    client_feed_bytes: int = 64 * KiB
    # Gateway server: bytes handed to the socket per send: per-send overhead vanishes, while a
    # slow client makes us hold at most this much (hypercorn applies backpressure per send).
    send_chunk_bytes: int = 1 * MiB
    # CLI: how long the liveness probe of `$JZFS_PATH/api` may take. A local daemon answers in
    # milliseconds; slower means "not running" and the command works on the repo instead.
    api_probe_timeout_s: float = 2.0
    # RPC multipart bodies: headers of one part (Content-Disposition with a long path, type).
    # python-multipart would accumulate them without limit; real paths need far less.
    max_part_header_bytes: int = 16 * KiB
    # RPC add: a symlink part's body is its target (a path), never large.
    max_symlink_target_bytes: int = 4 * KiB
    # HTTP servers: an idle keep-alive connection is closed after this long (each holds a task).
    keep_alive_timeout_s: float = 30.0
    # RPC dag import: a CAR part is spooled in memory up to this size, then to a temp file, so an
    # import of any size holds bounded memory (it is verified and staged before commit).
    car_spool_memory_bytes: int = 8 * MiB


HTTP_LIMITS = HttpLimits()


# --------------------------------------------------------------------------------------------
# Delegated routing over HTTP (/routing/v1, jiaozi_node.routing.http)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DelegatedRoutingLimits:
    # Client: connect / read / write timeout of one HTTP request (httpx, per operation). A
    # router that accepts the connection and then says nothing is given up after this long.
    client_timeout_s: float = 10.0
    # Client: a whole request, streamed body included. A router that drips one byte every few
    # seconds (each read within client_timeout_s) cannot hold a lookup longer than this.
    client_total_timeout_s: float = 30.0
    # Client: a non-streaming JSON body. The spec caps JSON answers at 100 records; a record is
    # well under 16 KiB even with max_addrs_per_record long addresses, so 2 MiB is generous.
    max_json_body_bytes: int = 2 * MiB
    # Client: one NDJSON line (one record). A line longer than this is dropped whole.
    max_ndjson_line_bytes: int = 64 * KiB
    # Client: total bytes read from one NDJSON stream (garbage or dropped lines included), so a
    # router that streams junk forever stops being read.
    max_ndjson_stream_bytes: int = 16 * MiB
    # Records (valid or not) read from one answer before we stop reading: bounds the work a
    # router can make us do per lookup even with tiny invalid lines.
    max_records_per_response: int = 1000
    # Addresses kept per peer record (go-libp2p peers announce tens; more is hostile). Extra
    # addresses are dropped, the record kept.
    max_addrs_per_record: int = 64
    # One multiaddr string; real ones (dns + port + certhashes) stay well under 1 KiB.
    max_addr_chars: int = 1024
    # Protocols kept per record and the length of one (IPIP-484: names are at most 63 chars;
    # libp2p protocol IDs such as /ipfs/bitswap/1.2.0 are short too).
    max_protocols_per_record: int = 32
    max_protocol_chars: int = 256
    # IPNS: the IPNS record spec caps a record at 10 KiB; bigger bodies are refused unread.
    max_ipns_record_bytes: int = 10 * KiB
    # Server: records in one application/json answer (the spec's SHOULD: 100).
    server_json_records: int = 100
    # Server: records in one NDJSON stream (the DHT's providers-per-key limit bounds it too).
    server_ndjson_records: int = 1000
    # Server: how long one lookup may run before we answer with what was found. Below Helia's
    # client timeout (30 s) so a JSON client gets a partial answer instead of aborting.
    server_lookup_timeout_s: float = 25.0
    # Server: lookups running at once. Each one may fan out into DHT queries, so requests over
    # this are answered 429 with Retry-After (the spec's answer) instead of queueing work an
    # anonymous HTTP client could multiply without bound.
    server_max_concurrent_lookups: int = 32
    server_retry_after_s: int = 5
    # Server: cache lifetimes (spec: shorter for "no results", longer for results).
    server_max_age_found_s: int = 300
    server_max_age_empty_s: int = 15
    # Server: max-age of an IPNS record answer when the record gives no TTL (spec: 60 s).
    server_ipns_default_max_age_s: int = 60
    # Filter names one request may carry (?filter-addrs=…&filter-protocols=…): real clients send
    # a handful; more only makes every record's filtering cost more.
    max_filter_names: int = 32


DELEGATED_ROUTING_LIMITS = DelegatedRoutingLimits()


# --------------------------------------------------------------------------------------------
# Versioning
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersioningLimits:
    # Longest parent chain walked by log/verify before we call the history absurd.
    max_history_depth: int = 1_000_000
    # Largest commit/tag object accepted from outside.
    max_object_bytes: int = 1 * MiB
    # /jzfs/refs/1.0.0: one request or response; refs lists are small, a bigger message is hostile.
    max_sync_message_bytes: int = 1 * MiB
    # Refs one advertisement may carry (bounds what a peer can make us decode and check).
    max_refs_per_advertisement: int = 10_000
    # A refs request that gets no answer within this long fails (the peer is stuck or hostile).
    sync_timeout_s: float = 30.0
    # The stat cache (SQLite): a writer in another process waits this long for the lock.
    stat_cache_busy_timeout_s: float = 30.0
    # `commit` snapshots: threads hashing files (the machine has 2 cores; more only add
    # contention), files at most this big hashed inline rather than in the pool, and blocks
    # buffered before one put_many (one transaction/fsync batch). Files are read and chunked by
    # the add pipeline (AddTuning.read_bytes), as `jzfs add` reads them.
    snapshot_hash_threads: int = 2
    snapshot_pool_min_bytes: int = 1 * MiB
    snapshot_put_batch_blocks: int = 256
    # Repo, branch and tag names: bounded length (they travel in the sync protocol and in URLs).
    max_ref_name_len: int = 200
    # Refs store, SQLite: a writer waits this long for another process's write lock.
    refs_busy_timeout_s: float = 30.0
    # Refs store, PostgreSQL: an unreachable database must fail the command, not hang it.
    refs_connect_timeout_s: float = 10.0
    # Row-level diff: the most bytes of a changed region held in memory at once (bigger regions
    # are refused with LimitExceeded rather than read whole).
    max_rowdiff_region_bytes: int = 256 * MiB
    # git's `REF~N`: the most steps one spec may ask for; a typo such as `main~99999999` fails at
    # once instead of walking the whole history block by block (versioning/revspec.py).
    max_ancestry_steps: int = 100_000


VERSIONING_LIMITS = VersioningLimits()


# --------------------------------------------------------------------------------------------
# Node-level routing (jiaozi_node.routing: parallel router, peer store, providing)
# --------------------------------------------------------------------------------------------

# `Routing.Type` default. "auto" = Kubo's default (DHT in client mode until the node is
# reachable, plus any `Routing.DelegatedRouters`). It sends nothing anywhere by itself: the DHT
# only talks to peers it was given (`Bootstrap`, empty by default; `Peering.Peers`; peers that
# connect to us) and the delegated router list is empty by default, so a default node stays on
# loopback yet finds content as soon as the user adds a peer.
DEFAULT_ROUTING_TYPE = "auto"
ROUTING_TYPES = ("auto", "dht", "dhtclient", "dhtserver", "delegated", "none")
# `Reprovider.Strategy` default: "roots" (chosen by measurement, docs/routing.md): one record per
# pinned root plus each dataset commit and its root, instead of one per block. A 100 GiB dataset
# is 102 400 (1 MiB chunks) .. 409 600 (256 KiB) records under "all"/"pinned" (millions with small
# files), each stored on k=20 DHT peers and re-announced every 22 h: measured 1.6 .. 6.5 min of
# announcing per reprovide on a 10-node loopback DHT (far longer on the real network), against
# 0.06 s for "roots". A peer finds the root's providers and fetches every block from them over
# Bitswap, so per-block records only help someone who starts from an inner block.
DEFAULT_REPROVIDER_STRATEGY = "roots"
REPROVIDER_STRATEGIES = ("all", "pinned", "roots")


@dataclass(frozen=True)
class RoutingLimits:
    # Providers returned by one find_providers unless asked otherwise (Kubo's `findprovs -n`
    # default is 20, a Bitswap session asks for 10).
    default_num_providers: int = 20
    # Upper bound on `-n`: a caller cannot make one lookup collect without bound.
    max_num_providers: int = 1000
    # One whole parallel query (all routers) gives up after this long: a router that never
    # answers must not hold a command forever (Kubo's DHT query timeout is of this order).
    query_timeout_s: float = 60.0
    # Largest record accepted by `routing put` / returned by `get_value`: IPNS records are <10 KiB
    # (go-libp2p caps DHT records at 10 KiB too); anything bigger is not a record.
    max_record_bytes: int = 10 * KiB
    # Retrieval: a block not found among connected peers within this long triggers a provider
    # search (boxo's ProviderSearchDelay is 1 s). Searching at once when no peer is connected.
    provider_search_delay_s: float = 1.0
    # Retrieval: provider searches running at once (each is a DHT lookup, ~20 RPCs): a fetch of
    # many blocks nobody connected has must not start hundreds of lookups.
    max_concurrent_provider_searches: int = 4
    # Retrieval: providers asked of routing per search (boxo's session asks for 10).
    session_providers: int = 10
    # Retrieval: provider dials in parallel (each costs a TCP+Noise handshake, ~10-30 ms).
    provider_dial_concurrency: int = 4
    # Retrieval: a CID whose search just finished is not searched again for this long (its
    # providers are connected; asking again only adds load on the routers).
    provider_search_cooldown_s: float = 10.0
    # Peer store (SQLite in the repo): peers remembered at most; the entries closest to expiry
    # go first. 10 000 peers x a few addresses is ~1-2 MB on disk.
    peerstore_max_peers: int = 10_000
    # Addresses kept per peer: go-libp2p peers announce a handful; a peer sending hundreds is
    # either misconfigured or trying to bloat our store.
    peerstore_max_addrs_per_peer: int = 16
    # How long an address learned from identify (the peer told us itself, we were connected)
    # is kept: long enough that a restart next day still reaches yesterday's peers.
    peerstore_identify_ttl_s: float = 3 * 24 * 3600.0
    # Addresses learned from routing (DHT / delegated answers) are second-hand and may be stale:
    # kept 1 h, after which routing is asked again.
    peerstore_routing_ttl_s: float = 3600.0
    # mDNS (Discovery.MDNS.Enabled): a peer seen again is not redialled within this long (it
    # announces itself every few seconds), dials in flight are bounded (a LAN full of peers must
    # not start hundreds of handshakes), and its addresses are kept this long (local, fresh).
    mdns_redial_s: float = 60.0
    mdns_max_dials: int = 8
    mdns_addr_ttl_s: float = 600.0
    # DHT routing-table peers (servers we queried) are copied into the peer store this often
    # and at shutdown, kept like identify's addresses, and put back in the table at the next
    # start, so a restarted node routes without its bootstrap peers.
    peerstore_dht_snapshot_s: float = 300.0
    peerstore_dht_ttl_s: float = 3 * 24 * 3600.0
    # Longest address string stored (a multiaddr of ip6 + dns + p2p is < 200 characters).
    peerstore_max_addr_len: int = 512
    # Providing: CIDs announced per batch (one `Router.provide` call), and batches in flight.
    # The DHT announces a batch by keyspace region (one lookup per region, the records to each
    # peer on one stream), so big batches share lookups: 1024 announced ~2000 records/s where 64
    # did ~300 (bench/bench_provide_strategy.py, 10-node loopback DHT). Bounded so providing
    # never starves fetches (4 x 1024 CIDs in flight, ~150 KB).
    provide_batch: int = 1024
    provide_concurrency: int = 4
    # Reprovide period (Kubo's Reprovider.Interval default is 22 h: records live 48 h on the
    # DHT, so each is refreshed at least twice in its lifetime).
    reprovide_interval_s: float = 22 * 3600.0
    # The first reprovide pass of a process waits this long (Kubo waits 1 min): a short-lived
    # CLI process (clone, fetch) never starts one, and the daemon's start is not slowed.
    reprovide_initial_delay_s: float = 60.0
    # A failed provide is retried after this long, doubling up to the max (a router that is
    # down must not be hammered; the queue keeps the CID across restarts meanwhile). A new
    # connection also brings failed entries forward (the DHT may just have found its peers).
    provide_retry_min_s: float = 5.0
    provide_retry_max_s: float = 3600.0
    # Persistent provide queue: entries held at most. A `pin add` beyond that drops the oldest
    # entries (the next reprovide announces them anyway) rather than growing without bound.
    provide_queue_max: int = 1_000_000
    # Blocks walked per DAG when the strategy expands a root into blocks ("all"/"pinned"):
    # bounds one queue entry's work (10 M blocks is a 2.5 TiB DAG in 256 KiB chunks).
    provide_walk_max_blocks: int = 10_000_000
    # The daemon re-reads the provide queue this often for entries another process added
    # (`jzfs commit` runs in the CLI process, not the daemon): one indexed SELECT per poll, and
    # what was committed is announced within seconds.
    provide_queue_poll_s: float = 2.0
    # After a new connection, failed provides are retried once this much later (the DHT adds
    # the peer to its table after identify); several connections in that window make one retry.
    provide_retry_on_connect_s: float = 2.0


ROUTING_LIMITS = RoutingLimits()


# --------------------------------------------------------------------------------------------
# IPNS and DNSLink (jiaozi_node.ipns)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IpnsLimits:
    # The spec's record size limit ("IPNS Record": implementations MUST handle <= 10 KiB and may
    # ignore larger ones): checked before a record is parsed, whoever sent it.
    max_record_bytes: int = 10 * KiB
    # `name publish --lifetime` default (Kubo's Ipns.RecordLifetime): DHT peers drop records
    # after 48 h anyway, so a longer EOL buys nothing there.
    record_lifetime_s: float = 48 * 3600.0
    # `name publish --ttl` default: how long resolvers may cache the record (Kubo: 1 h).
    record_ttl_s: float = 3600.0
    # The daemon republishes its records this often (Kubo's Ipns.RepublishPeriod, 4 h), and
    # always when one would expire within two periods.
    republish_period_s: float = 4 * 3600.0
    # Hops followed when a name points at another name or a DNSLink (Kubo's DefaultDepthLimit):
    # a loop or an absurd chain ends with a clear error instead of running forever.
    max_resolve_depth: int = 32
    # One resolution (routers, gateways, DNS, raced) gives up after this long.
    resolve_timeout_s: float = 30.0
    # Once one source gave a valid record, the others get this much longer to bring a better
    # one (higher sequence): a slow source cannot hold up every resolve for the whole timeout.
    resolve_settle_s: float = 0.5
    # The daemon's first republish runs this long after start (Kubo waits 1 min), then every
    # republish_period_s.
    republish_initial_delay_s: float = 60.0
    # Records kept in the resolve cache (Kubo's Ipns.ResolveCacheSize); entries live for the
    # record's TTL, never past its EOL.
    cache_entries: int = 1024
    # A DNS question gets no answer within this long: the resolver is down or lying.
    dns_timeout_s: float = 5.0
    # A DNS/DoH answer larger than this is refused (a TXT set for DNSLink is a few hundred bytes;
    # 64 KiB is the most a DNS message can hold).
    max_dns_response_bytes: int = 64 * KiB
    # TXT strings looked at in one answer (bounds work on a hostile answer).
    max_txt_records: int = 64
    # A libp2p key protobuf larger than this is not a key (an RSA-16384 public key is ~2.1 KB):
    # bounds what a record's pubKey field can make us parse.
    max_key_protobuf_bytes: int = 8 * KiB
    # RSA keys below this size are refused (go-libp2p's MinRsaKeyBits: weaker keys are forgeable).
    min_rsa_bits: int = 2048
    # An IPNS name is an identity multihash of a <= 42-byte key or a 32-byte sha2-256 digest;
    # a longer "name" is garbage and is refused before it is decoded further.
    max_name_multihash_bytes: int = 64
    # `key import` file: an RSA-16384 PKCS#8 PEM is ~13 KiB; anything larger is not a key.
    max_key_file_bytes: int = 64 * KiB


IPNS_LIMITS = IpnsLimits()


# --------------------------------------------------------------------------------------------
# Web UI (/webui on the API address)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebUILimits:
    # Form bodies of the UI's POSTs (a CSRF token, a CID, a branch name): anything bigger is not ours.
    max_form_bytes: int = 64 * KiB
    # Rows of a directory listing / log entries per page: pages stay fast whatever the size.
    dir_page_entries: int = 100
    log_page_commits: int = 50
    # Sorted listings of the directories browsed last (immutable by CID, so a cache is exact);
    # a 100 000-entry listing is ~10 MB of names and links, so few are kept.
    dir_cache_entries: int = 4
    # Decoded commits kept by CID for the log pages (~1 KB each; DAG-CBOR decoding is the slow
    # part of a log page).
    commit_cache_entries: int = 20_000
    max_listing_entries: int = 1_000_000
    # CSV/TSV preview: rows per page, and the most bytes one page may read (a file whose single
    # row is larger is shown as "row too long" rather than read into memory).
    preview_rows: int = 100
    preview_max_page_bytes: int = 8 * MiB
    # CSV sort: the whole file is sorted only up to this size; beyond, the page's rows are.
    preview_full_sort_bytes: int = 32 * MiB
    # Text/JSON/Markdown preview: the first this-many bytes (pretty-printing beyond is pointless).
    preview_text_bytes: int = 1 * MiB
    # Images are shown inline only up to this size (larger: the download link).
    preview_image_bytes: int = 32 * MiB
    # Text diffs on the diff page: files above this size show sizes only.
    text_diff_max_bytes: int = 2 * MiB
    # Row-level diff rows shown on one page (the CLI streams all of them).
    rowdiff_page_rows: int = 500
    # Bytes per send of a download (file, CAR, tar): batches pulled in a worker thread.
    download_batch_bytes: int = 1 * MiB
    # Node page: peers pinged/identified for the table, and how long each may take.
    node_page_peers: int = 50
    node_peer_timeout_s: float = 1.0
    # CID inspector: links listed for one block.
    inspect_max_links: int = 1000
    # CID inspector: lines of a decoded value shown, and the leading bytes shown as hex.
    inspect_max_value_lines: int = 2000
    inspect_hex_bytes: int = 512
    # Diff page: changed paths listed (the rest are counted, not shown; the CLI lists all).
    diff_max_changes_shown: int = 2000


WEBUI_LIMITS = WebUILimits()


@dataclass(frozen=True)
class Defaults:
    """The bundle handed to a Node; tests build their own with `replace`."""

    ipld: IpldLimits = field(default_factory=IpldLimits)
    bitswap: BitswapLimits = field(default_factory=BitswapLimits)
    net: NetLimits = field(default_factory=NetLimits)
    http: HttpLimits = field(default_factory=HttpLimits)
    versioning: VersioningLimits = field(default_factory=VersioningLimits)
    routing: RoutingLimits = field(default_factory=RoutingLimits)
    ipns: IpnsLimits = field(default_factory=IpnsLimits)
    dht: DhtLimits = field(default_factory=DhtLimits)
    profile: ImportProfile = DEFAULT_PROFILE
    delegated_routing: DelegatedRoutingLimits = field(default_factory=DelegatedRoutingLimits)
    store: StoreLimits = field(default_factory=StoreLimits)
    car: CarLimits = field(default_factory=CarLimits)
    tree: TreeLimits = field(default_factory=TreeLimits)
    io: IoTuning = field(default_factory=IoTuning)
    add: AddTuning = field(default_factory=AddTuning)
