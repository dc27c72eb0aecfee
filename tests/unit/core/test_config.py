from jiaozi_node.config import UNIXFS_V0_2015, UNIXFS_V1_2025


def test_profiles_match_ipip_499():
    assert (UNIXFS_V1_2025.cid_version, UNIXFS_V1_2025.raw_leaves, UNIXFS_V1_2025.chunker,
            UNIXFS_V1_2025.max_links) == (1, True, "size-1048576", 1024)
    assert (UNIXFS_V0_2015.cid_version, UNIXFS_V0_2015.raw_leaves, UNIXFS_V0_2015.chunker,
            UNIXFS_V0_2015.max_links) == (0, False, "size-262144", 174)


def test_cid_version_1_implies_raw_leaves_like_kubo():
    p = UNIXFS_V0_2015.with_overrides(cid_version=1)
    assert p.raw_leaves and p.chunker == "size-262144" and p.max_links == 174
    p2 = UNIXFS_V0_2015.with_overrides(cid_version=1, raw_leaves=False)
    assert not p2.raw_leaves


# Module-level numbers that are not limits: format constants fixed by a spec or by Kubo's
# algorithms (changing one changes bytes on the wire or CIDs), each with the reason.
NOT_LIMITS = {
    "ipld/cid.py": {"RAW", "DAG_PB", "DAG_CBOR", "LIBP2P_KEY", "DAG_JSON", "JSON"},  # multicodec
    "ipld/multihash.py": {"IDENTITY", "SHA2_256", "SHA2_512"},  # multicodec table
    "car/reader.py": {"CARV2_HEADER_BYTES"},  # CARv2 spec: fixed-size header
    "unixfs/buzhash.py": {"BUZ_MIN", "BUZ_MAX", "BUZ_MASK", "WINDOW", "_SHIFTS_INV"},  # Kubo's buzhash
    "unixfs/rabin.py": {"IPFS_RABIN_POLY", "WINDOW"},  # Kubo's rabin chunker
    "unixfs/hamt.py": {"_MAX_DEPTH_BITS"},  # 64-bit murmur3 hash: a HAMT cannot be deeper
    "unixfs/exporter_hamt.py": {"HASH_BITS"},  # 64-bit murmur3 hash
    "unixfs/pb.py": {"MURMUR3_X64_64", "_MAX_U64"},  # multicodec / protobuf uint64
    "unixfs/chunker.py": {"CHUNK_OVERHEAD_BUDGET", "DEFAULT_RABIN_AVG"},  # boxo / Kubo values
    "unixfs/directory.py": {"PLAIN_DIR_DATA_FIELD"},  # derived from the UnixFS encoding
    "identity.py": {"KEY_TYPE_ED25519"},  # libp2p crypto.proto KeyType
    "unixfs/nodes.py": {"PB_LEAF_HEAD_ROOM", "PB_LEAF_TAIL_ROOM"},  # dag-pb leaf framing sizes
    "net/addrs.py": {"_P2P"},  # multicodec of /p2p
    "net/lite/negotiate.py": {"_PEEK"},  # slice size handed to the multistream responder, not a bound
    "node/leaf_ring.py": {"_IOV_MAX"},  # readv(2): at most IOV_MAX (1024 on Linux) buffers per call
    "ipns/crypto.py": {"MAX_INLINE_KEY_BYTES"},  # peer-ID spec: keys <= 42 bytes are inlined
    "ipns/record.py": {"NS", "UINT64_MAX", "VALIDITY_EOL"},  # units, protobuf uint64, spec enum
    "net/yamux_session.py": {"HEADER_SIZE", "INITIAL_WINDOW"},  # yamux spec
    "net/host.py": {"PING_BYTES"},  # ping spec: 32-byte payload
    "net/lite/noise.py": {"MAX_NOISE_MESSAGE", "NOISE_MAX_PLAINTEXT"},  # Noise spec message size
    "versioning/objects.py": {"FORMAT_VERSION"},  # commit object format
    "versioning/sync_core.py": {"NONCE_BYTES"},  # protocol field size
    "versioning/statcache.py": {"RACY_WINDOW_NS"},  # file-system timestamp granularity (git's rule)
    "ipld/framing.py": {"_MAX_PREFIX_BYTES"},  # unsigned-varint spec
    "ipld/dagcbor.py": {"_U64"},  # CBOR spec: integer arguments are at most 64 bits
    "ipld/varint.py": {"MAX_VARINT_BYTES", "MAX_PROTOBUF_VARINT_BYTES", "_MAX_U64"},  # varint specs
    "bitswap/message.py": {"WANT_BLOCK", "WANT_HAVE", "HAVE", "DONT_HAVE"},  # bitswap protobuf enums
    "bitswap/ledger.py": {"SEND_BLOCK", "SEND_HAVE", "SEND_DONT_HAVE"},  # enum values
    "bitswap/client.py": {"_MAX_PRIORITY"},  # int32 priority field of the bitswap protobuf
    "store/lmdb_env.py": {"MADV_DONTNEED", "MADV_NORMAL", "MADV_RANDOM"},  # Linux madvise(2) constants
    "store/refs_pg.py": {"_SCHEMA_LOCK"},
    "routing/dht/message.py": {"PUT_VALUE", "GET_VALUE", "ADD_PROVIDER", "GET_PROVIDERS", "FIND_NODE",
                               "PING", "NOT_CONNECTED", "CONNECTED", "CAN_CONNECT",
                               "CANNOT_CONNECT"},  # kad-dht protobuf enums
    "routing/dht/keys.py": {"KEY_BITS"},  # SHA-256 keyspace width
    "routing/dht/providers.py": {"_MASK"},  # 32-bit field mask of the packed record
    "node/tree_writer.py": {"_AT_FDCWD", "_RENAME_NOREPLACE"},  # Linux renameat2(2) constants
    "routing/http/records.py": {"MAX_INLINE_KEY_BYTES"},  # peer-ID spec: keys <= 42 bytes are inlined
    "routing/http/filters.py": {"MAX_FILTER_NAME"},  # IPIP-484: names are at most 63 characters
    "routing/http/server.py": {"MAX_TTL_S"},  # routing v1 spec: stale-while-revalidate = 48 h (Amino)
    "webui/history.py": {"LANE_W", "ROW_H"},  # drawing: pixel sizes of the commit graph
    "store/pack/format.py": {"TOMBSTONE", "TABLE_FIXED", "MAX_BATCH_ENTRIES", "_MAX_OFF_T"},  # format  # advisory lock key, an identifier
}
# Still outside config.py, to move next (empty: every limit is in config.py).
PENDING: dict[str, set[str]] = {}


def test_no_module_hard_codes_a_limit():
    """config.py: "Nothing else in the package hard-codes a size, a count or a timeout"."""
    import ast
    from pathlib import Path

    import jiaozi_node

    root = Path(jiaozi_node.__file__).parent
    found: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        rel = path.relative_to(root).as_posix()
        if rel == "config.py":
            continue
        tree = ast.parse(path.read_text())
        nodes = list(tree.body) + [n for c in tree.body if isinstance(c, ast.ClassDef) for n in c.body]
        for node in nodes:
            targets = node.targets if isinstance(node, ast.Assign) else \
                [node.target] if isinstance(node, ast.AnnAssign) and node.value is not None else []
            value = getattr(node, "value", None)
            if value is None or not all(isinstance(n, (ast.Constant, ast.BinOp, ast.UnaryOp, ast.Name,
                                                        ast.Attribute, ast.Load, ast.operator, ast.unaryop))
                                        for n in ast.walk(value)):
                continue
            if not any(isinstance(n, ast.Constant) and type(n.value) in (int, float) for n in ast.walk(value)):
                continue
            for t in targets:
                if isinstance(t, ast.Name) and t.id.lstrip("_").isupper():
                    found.setdefault(rel, set()).add(t.id)
    allowed = {k: NOT_LIMITS.get(k, set()) | PENDING.get(k, set()) for k in set(NOT_LIMITS) | set(PENDING)}
    extra = {k: sorted(v - allowed.get(k, set())) for k, v in found.items() if v - allowed.get(k, set())}
    assert extra == {}, f"limits outside jiaozi_node/config.py: {extra}"


def test_every_limit_field_is_used():
    """A field of a config dataclass that no module reads is a promise nobody keeps."""
    import dataclasses
    import re
    from pathlib import Path

    import jiaozi_node.config as c

    root = Path(c.__file__).parent
    src = "\n".join(p.read_text() for p in root.rglob("*.py") if p.name != "config.py")
    unused = [f"{name}.{f.name}" for name, obj in vars(c).items()
              if isinstance(obj, type) and dataclasses.is_dataclass(obj)
              for f in dataclasses.fields(obj) if not re.search(rf"\b{re.escape(f.name)}\b", src)]
    assert unused == []


def _limits_read_at_use_time() -> dict[str, set[str]]:
    """`*_LIMITS` / `*_TUNING` names loaded inside function bodies or in module-level assignments (argument
    defaults excluded: a keyword argument defaulting to the config dataclass default is how limits
    are passed in)."""
    import ast
    from pathlib import Path

    import jiaozi_node

    root = Path(jiaozi_node.__file__).parent
    found: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        rel = path.relative_to(root).as_posix()
        if rel == "config.py":
            continue
        tree = ast.parse(path.read_text())
        in_defaults = {id(m) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                         ast.Lambda))
                       for d in [*f.args.defaults, *(k for k in f.args.kw_defaults if k)] for m in ast.walk(d)}
        module_level = [s for s in tree.body if isinstance(s, (ast.Assign, ast.AnnAssign, ast.Expr))]
        for m in (m for s in module_level for m in ast.walk(s)):
            if isinstance(m, ast.Name) and m.id.endswith(("_LIMITS", "_TUNING")):
                found.setdefault(rel, set()).add(m.id)
        for f in ast.walk(tree):
            if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for stmt in f.body:
                    for m in ast.walk(stmt):
                        if isinstance(m, ast.Name) and m.id.endswith(("_LIMITS", "_TUNING")) and id(m) not in in_defaults:
                            found.setdefault(rel, set()).add(m.id)
    return found


def test_no_module_reads_a_limits_singleton_at_use_time():
    """config.py's rule: a `*_LIMITS` singleton is read only as a keyword argument's default
    (for library users); inside function bodies and in module-level copies, never. The owner
    (Node.defaults -> constructor or function keyword) passes the limit in."""
    found = _limits_read_at_use_time()
    assert found == {}, f"pass these limits in (Node.defaults -> keyword argument): {found}"


def test_the_use_time_check_sees_what_it_must(tmp_path, monkeypatch):
    """The AST check itself: a read in a body or a module-level copy is found, a default is not."""
    import jiaozi_node

    pkg = tmp_path / "jiaozi_node"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "ok.py").write_text("from .config import X_LIMITS\n"
                               "def f(*, n: int = X_LIMITS.n) -> int:\n    return n\n")
    (pkg / "body.py").write_text("from .config import X_LIMITS\ndef f():\n    return X_LIMITS.n\n")
    (pkg / "copy.py").write_text("from .config import X_LIMITS\nN = X_LIMITS.n\n")
    (pkg / "tuning.py").write_text("from .config import Y_TUNING\ndef f():\n    return Y_TUNING.n\n")
    monkeypatch.setattr(jiaozi_node, "__file__", str(pkg / "__init__.py"))
    assert _limits_read_at_use_time() == {"body.py": {"X_LIMITS"}, "copy.py": {"X_LIMITS"},
                                          "tuning.py": {"Y_TUNING"}}
