"""api/common.py: Kubo's argument parsing rules."""

from __future__ import annotations

import pytest

from jiaozi_node.api.common import arg_path, one_arg, param_bool, param_int
from jiaozi_node.errors import InvalidInput
from jiaozi_node.gateway.asgi import Request


def req(qs: bytes) -> Request:
    async def receive() -> dict:
        return {"type": "http.request", "body": b""}

    return Request({"type": "http", "method": "POST", "path": "/api/v0/x", "query_string": qs,
                    "headers": []}, receive)


def test_bools_like_go_parsebool() -> None:
    r = req(b"a=true&b=0&c&d=F&e=maybe")
    assert param_bool(r, "a", False) is True
    assert param_bool(r, "b", True) is False
    assert param_bool(r, "c", False) is True  # bare flag
    assert param_bool(r, "d", True) is False
    assert param_bool(r, "zz", True) is True
    with pytest.raises(InvalidInput):
        param_bool(r, "e", False)


def test_ints_and_args() -> None:
    r = req(b"n=5&bad=x&arg=one&arg=two&empty=")
    assert param_int(r, "n", None) == 5 and param_int(r, "empty", 7) == 7
    with pytest.raises(InvalidInput):
        param_int(r, "bad", None)
    assert r.args() == ["one", "two"] and one_arg(r) == "one"
    with pytest.raises(InvalidInput):
        one_arg(req(b""))


def test_arg_path() -> None:
    from jiaozi_node.ipld import CID

    c = CID.of(b"x")
    assert arg_path(req(f"arg=/ipfs/{c}/a/b".encode())).segments == ("a", "b")


def test_api_context_limits_are_the_nodes_unless_given(tmp_path) -> None:
    from dataclasses import replace

    from jiaozi_node.api.common import ApiContext
    from jiaozi_node.config import Defaults, HttpLimits
    from jiaozi_node.node import Node

    http = HttpLimits(max_part_header_bytes=99)
    with Node.open(tmp_path / "r", defaults=replace(Defaults(), http=http)) as node:
        assert ApiContext(node).limits is http
        other = HttpLimits(max_body_bytes=5)
        assert ApiContext(node, limits=other).limits is other


def test_resolve_cid_and_make_dag_local(node, tree) -> None:
    """The public helpers the pin handlers and the web UI share (ApiContext)."""
    from jiaozi_node.api.common import ApiContext
    from jiaozi_node.car.traverse import dag_blocks
    from jiaozi_node.errors import NotFound
    ctx = ApiContext(node)
    root = tree["root"]
    assert ctx.resolve_cid(str(root)) == root
    assert ctx.resolve_cid(f"/ipfs/{root}/sub/inner.txt") == tree["hello"]
    every = {b.cid for b in dag_blocks(node.blocks, root)}
    assert ctx.make_dag_local(root) == len(every) > 5
    node.blocks.delete(tree["hello"])
    with pytest.raises(NotFound, match=str(tree["hello"])):  # offline: the missing block is named
        ctx.make_dag_local(root)
