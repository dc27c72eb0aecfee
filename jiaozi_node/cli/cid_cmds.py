"""`jzfs cid format|base32|bases|codecs|hashes`, a subset of Kubo's `ipfs cid`.

`cid format -f` understands Kubo's specifiers:

    %% literal %    %b multibase name      %B multibase prefix    %v version (cidv0/cidv1)
    %V version number                     %c codec name          %C codec code (hex)
    %h multihash name                     %H multihash code      %L digest length
    %m multihash (multibase, prefixed)    %M multihash (no prefix)
    %d digest (multibase, prefixed)       %D digest (no prefix)
    %s CID string (the default)           %S CID string without the multibase prefix
    %P prefix: cidv{V}-{codec}-{hash}-{length}
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..ipld.cid import CID

from ..errors import InvalidInput
from .common import add_json_flag, print_json


def _name_of(code: int) -> str:
    from multiformats import multicodec

    try:
        return str(multicodec.get(code=code).name)
    except KeyError:
        return f"0x{code:x}"


def _convert(cid: CID, version: int | None, codec: str | None) -> CID:
    from ..ipld import multihash
    from ..ipld.cid import CID, DAG_PB, codec_code

    if codec is not None:
        cid = CID(1, codec_code(codec), cid.multihash) if cid.version == 1 or codec != "dag-pb" \
            else CID(0, DAG_PB, cid.multihash)
    if version == 1:
        cid = cid.to_v1()
    elif version == 0:
        if cid.codec != DAG_PB or cid.hash_code != multihash.SHA2_256:
            raise InvalidInput(f"{cid} cannot be CIDv0 (only dag-pb with sha2-256 can)")
        cid = cid.to_v0()
    elif version is not None:
        raise InvalidInput(f"invalid CID version {version}")
    return cid


def format_cid(cid: CID, fmt: str = "%s", base: str = "") -> str:
    """Render `cid` with Kubo's `cid format` specifiers (see the module docstring)."""
    if cid.version == 0 and base not in ("", "base58btc"):
        cid = cid.to_v1()  # a CIDv0 only exists in base58btc
    base_name = base or ("base58btc" if cid.version == 0 else "base32")
    if fmt == "%s" and base_name in ("base32", "base58btc"):
        return cid.encode(base_name if cid.version == 1 else "")  # the common case, without multiformats
    from multiformats import multibase

    from ..ipld import multihash

    try:
        mb = multibase.get(base_name)
    except KeyError:
        raise InvalidInput(f"unknown multibase {base_name!r}") from None
    text = cid.encode(base_name if cid.version == 1 else "")
    code, digest = multihash.decode(cid.multihash)

    def enc(data: bytes) -> str:
        return str(mb.encode(data))

    values = {
        "%": "%", "b": mb.name, "B": mb.code, "v": f"cidv{cid.version}", "V": str(cid.version),
        "c": _name_of(cid.codec), "C": f"0x{cid.codec:x}", "h": _name_of(code),
        "H": f"0x{code:x}", "L": str(len(digest)), "m": enc(cid.multihash),
        "M": enc(cid.multihash)[len(mb.code):], "d": enc(digest), "D": enc(digest)[len(mb.code):],
        "s": text, "S": text if cid.version == 0 else text[len(mb.code):],
        "P": f"cidv{cid.version}-{_name_of(cid.codec)}-{_name_of(code)}-{len(digest)}",
    }
    out = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch != "%":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= len(fmt) or fmt[i + 1] not in values:
            raise InvalidInput(f"invalid format specifier {fmt[i:i + 2]!r}")
        out.append(values[fmt[i + 1]])
        i += 2
    return "".join(out)


def _emit(args: argparse.Namespace, pairs: list[tuple[str, str]]) -> None:
    if args.json:  # Kubo's `cid format|base32 --enc=json`
        for text, out in pairs:
            print_json({"CidStr": text, "Formatted": out, "ErrorMsg": ""})
    else:
        print("\n".join(out for _, out in pairs))


def cmd_format(args: argparse.Namespace) -> int:
    from ..ipld.cid import CID

    pairs = []
    for text in args.cids:
        cid = _convert(CID.decode(text), args.version, args.codec)
        pairs.append((text, format_cid(cid, args.format, args.base or "")))
    _emit(args, pairs)
    return 0


def cmd_base32(args: argparse.Namespace) -> int:
    from ..ipld.cid import CID

    _emit(args, [(t, CID.decode(t).to_v1().encode("base32")) for t in args.cids])
    return 0


def cmd_bases(args: argparse.Namespace) -> int:
    from multiformats import multibase

    for mb in sorted(multibase.table(), key=lambda m: m.name):
        print(f"{mb.code:>3}  {mb.name}" if args.prefix else mb.name)
    return 0


def cmd_codecs(args: argparse.Namespace) -> int:
    from ..ipld.cid import CODEC_NAMES

    for code, name in sorted(CODEC_NAMES.items()):
        print(f"{code:>5}  {name}" if args.numeric else name)
    return 0


def cmd_hashes(args: argparse.Namespace) -> int:
    from ..ipld import multihash

    for name, code in sorted(multihash.NAMES.items(), key=lambda kv: kv[1]):
        print(f"{code:>5}  {name}" if args.numeric else name)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    cid = sub.add_parser("cid", help="convert and inspect CIDs")
    csub = cid.add_subparsers(dest="cid_command", metavar="SUBCOMMAND", required=True)

    p = csub.add_parser("format", help="convert/format CIDs (Kubo's %%-specifiers)")
    p.add_argument("cids", nargs="+", metavar="cid")
    p.add_argument("-f", "--format", default="%s", help="printf-style format (default %%s)")
    p.add_argument("-v", "--version", type=int, default=None, help="CID version to convert to")
    p.add_argument("-b", "--base", default=None, help="multibase (base32, base58btc, base36, ...)")
    p.add_argument("--mc", "--codec", dest="codec", default=None, help="change the codec")
    add_json_flag(p)
    p.set_defaults(func=cmd_format)

    p = csub.add_parser("base32", help="convert CIDs to CIDv1 in base32")
    p.add_argument("cids", nargs="+", metavar="cid")
    add_json_flag(p)
    p.set_defaults(func=cmd_base32)

    p = csub.add_parser("bases", help="list multibases")
    p.add_argument("--prefix", action="store_true")
    p.add_argument("--numeric", action="store_true")
    p.set_defaults(func=cmd_bases)

    p = csub.add_parser("codecs", help="list the codecs jzfs knows")
    p.add_argument("--numeric", "-n", action="store_true")
    p.set_defaults(func=cmd_codecs)

    p = csub.add_parser("hashes", help="list the hash functions jzfs computes")
    p.add_argument("--numeric", "-n", action="store_true")
    p.set_defaults(func=cmd_hashes)
