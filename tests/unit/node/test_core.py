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
