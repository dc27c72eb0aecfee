"""The Python API a notebook uses: Node.open(), add, cat, ls, get, dag put/get."""

from jiaozi_node import CID, Node


def test_notebook_round_trip(tmp_path):
    src = tmp_path / "data"
    (src / "sub").mkdir(parents=True)
    (src / "a.csv").write_bytes(b"x,y\n1,2\n")
    (src / "sub" / "b.bin").write_bytes(bytes(range(256)) * 5000)
    with Node.open(tmp_path / "repo") as node:
        root = node.add_path(src)
        assert isinstance(root, CID) and root.version == 1  # unixfs-v1-2025 by default
        assert node.cat(f"{root}/a.csv") == b"x,y\n1,2\n"
        assert node.cat(f"/ipfs/{root}/sub/b.bin", offset=256, length=3) == bytes([0, 1, 2])
        names = sorted(e.name for e in node.ls(root))
        assert names == ["a.csv", "sub"]
        out = node.get(root, tmp_path / "out")
        assert (out / "sub" / "b.bin").read_bytes() == (src / "sub" / "b.bin").read_bytes()
        assert node.pins.pin_type(root) == "recursive"  # add pins, like Kubo
        c = node.dag_put({"dataset": root, "rows": 1})
        assert str(c).startswith("bafyrei")
        assert node.dag_get(c) == {"dataset": root, "rows": 1}
        assert node.dag_get(c, "rows") == 1
        assert node.add_bytes(b"hello") == CID.decode(str(node.add_bytes(b"hello")))


def test_node_parts_are_typed():
    """No part of Node is handed out as `Any` (the wiring is as readable as the cores)."""
    from jiaozi_node.node.core import Node

    want = {"blocks": "Blockstore", "pins": "PinStore", "versioning": "Versioning", "files": "FilesReader"}
    for name, type_name in want.items():
        assert getattr(Node, name).func.__annotations__["return"] == type_name, name
    assert Node.settings.fget.__annotations__["return"] == "UserConfig"


def test_versioning_is_built_from_explicit_parts(tmp_path):
    """The versioning service gets its parts handed in: no Node needed, nothing reached through one."""
    import contextlib
    import inspect

    from jiaozi_node.config import Defaults
    from jiaozi_node.repo import Repo
    from jiaozi_node.store.base import MemoryBlockstore
    from jiaozi_node.versioning import service

    assert "self.node" not in inspect.getsource(service)
    guarded: list[int] = []

    @contextlib.contextmanager
    def guard():
        guarded.append(1)
        yield

    announced: list = []
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f.txt").write_bytes(b"hello")
    vs = service.Versioning(repo=Repo.init(tmp_path / "r"), blocks=MemoryBlockstore(), gc_guard=guard,
                            announce=announced.extend, defaults=Defaults())
    vs.refs.create_repo("ds", now=1)
    res = vs.commit("ds", tmp_path / "d", branch="main", message="m", now=1)
    assert guarded == [1] and res.cid in announced
    assert vs.resolve("main", dataset="ds") == res.cid
    vs.close()


def test_add_uses_the_nodes_add_tuning(tmp_path, monkeypatch):
    from dataclasses import replace

    from jiaozi_node.config import AddTuning, Defaults
    from jiaozi_node.node import files

    tuning = AddTuning(read_bytes=4096, put_batch_bytes=8192)
    seen = []
    real = files.AddSession.__init__

    def init(self, node, **kw):
        seen.append(kw["tuning"])
        real(self, node, **kw)

    monkeypatch.setattr(files.AddSession, "__init__", init)
    (tmp_path / "f").write_bytes(b"x" * 10_000)
    with Node.open(tmp_path / "r", defaults=replace(Defaults(), add=tuning)) as node:
        assert node.cat(node.add_bytes(b"y" * 10_000)) == b"y" * 10_000
        assert node.cat(node.add_path(tmp_path / "f")) == b"x" * 10_000
    assert seen == [tuning, tuning]
