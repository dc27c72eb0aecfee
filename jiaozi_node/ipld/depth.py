"""Nesting depth of DAG-JSON text and DAG-CBOR bytes, measured before decoding (pure, iterative).

Python's json module and the dag-cbor library decode nested values by recursion: 1000 nested
arrays raise RecursionError (or worse, deep in a thread). IpldLimits.max_decode_depth bounds the
nesting of anything we decode; these scanners find it without recursion and without building
values, so a too-deep input is refused with an error naming the limit, before a decoder sees it.

Depth counts containers: `1` is depth 0, `[]` and `{}` are 1, `[[1]]` is 2. A DAG-JSON link
`{"/": "…"}` or bytes `{"/": {"bytes": "…"}}` are one or two levels of text but no level of the
data model: the text check allows those two extra levels, the data-model check (`value_depth`) is
exact.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import CodecError

LIMIT_NAME = "IpldLimits.max_decode_depth"

# A JSON string (with escapes) or one bracket; strings are skipped so brackets inside them
# do not count.
_JSON_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.S)


def too_deep(codec: str, limit: int) -> CodecError:
    return CodecError(f"{codec}: nested deeper than {limit} levels; refusing ({LIMIT_NAME})")


def check_json_text(text: str, limit: int) -> None:
    """Raise CodecError if the JSON text nests deeper than `limit` + 2 (see module doc)."""
    allowed = limit + 2
    if text.count("[") + text.count("{") <= allowed:
        return  # even if every bracket nested, it would fit
    depth = 0
    for m in _JSON_TOKENS.finditer(text):
        c = text[m.start()]
        if c == "[" or c == "{":
            depth += 1
            if depth > allowed:
                raise too_deep("dag-json", limit)
        elif c == "]" or c == "}":
            depth -= 1


def value_depth_ok(value: Any, limit: int) -> bool:
    """Whether a decoded value (dicts and lists) nests at most `limit` levels (iterative)."""
    stack = [(value, 0)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            items: Any = v.values()
        elif isinstance(v, (list, tuple)):
            items = v
        else:
            continue
        if d + 1 > limit:
            return False
        stack.extend((x, d + 1) for x in items if isinstance(x, (dict, list, tuple)))
    return True


def check_cbor(data: bytes, limit: int) -> None:
    """Raise CodecError if DAG-CBOR `data` nests arrays/maps deeper than `limit`. Also refuses,
    as DAG-CBOR does, indefinite lengths and tags other than 42 on a byte string. Other
    strictness (canonical order, minimal ints, trailing bytes) is left to the decoder."""
    if len(data) <= limit:
        return  # every level takes at least one byte
    n = len(data)
    pos = 0
    stack: list[int] = []  # items still to read in each enclosing container
    remaining = 1
    after_tag = False
    while True:
        if remaining == 0:
            if not stack:
                return
            remaining = stack.pop()
            continue
        if pos >= n:
            raise CodecError("invalid dag-cbor: truncated")
        ib = data[pos]
        pos += 1
        major, info = ib >> 5, ib & 31
        if info < 24:
            arg = info
        elif info <= 27:
            size = 1 << (info - 24)
            if pos + size > n:
                raise CodecError("invalid dag-cbor: truncated")
            arg = int.from_bytes(data[pos:pos + size], "big")
            pos += size
        else:
            raise CodecError("invalid dag-cbor: indefinite length or reserved value")
        remaining -= 1
        if after_tag and major != 2:
            raise CodecError("invalid dag-cbor: tag 42 must wrap a byte string")
        after_tag = False
        if major == 2 or major == 3:
            pos += arg
            if pos > n:
                raise CodecError("invalid dag-cbor: truncated")
        elif major == 4 or major == 5:
            if len(stack) + 1 > limit:
                raise too_deep("dag-cbor", limit)
            count = arg * 2 if major == 5 else arg
            if count:
                if count > n - pos:
                    raise CodecError("invalid dag-cbor: more items than bytes")
                stack.append(remaining)
                remaining = count
        elif major == 6:
            if arg != 42:
                raise CodecError(f"invalid dag-cbor: tag {arg} (only 42, CIDs)")
            remaining += 1
            after_tag = True
