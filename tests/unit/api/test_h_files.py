"""api/h_files.py: cat, ls, get (tar) in Kubo's shapes."""

from __future__ import annotations

import hashlib
import io
import tarfile

from jiaozi_node.ipld import CID
from jiaozi_node.node import Node

# the same bytes as conftest.tree's big.bin
API_DATA = hashlib.shake_128(b"api").digest(200_000)


async def test_cat_ls_get(api, node: Node, tree: dict[str, CID]) -> None:
    root = tree["root"]
    async with api(node) as http:
        r = await http.post("/api/v0/cat", params={"arg": f"/ipfs/{root}/big.bin"})
        assert r.status_code == 200 and r.content == API_DATA
        assert r.headers["x-stream-output"] == "1"
        r = await http.post("/api/v0/cat", params={"arg": str(tree["big"]), "offset": 100, "length": 50})
        assert r.content == API_DATA[100:150]
        r = await http.post("/api/v0/ls", params={"arg": str(root)})
        obj = r.json()["Objects"][0]
        assert obj["Hash"] == str(root)
        links = {lk["Name"]: lk for lk in obj["Links"]}
        assert links["big.bin"] == {"Name": "big.bin", "Hash": str(tree["big"]), "Size": len(API_DATA),
                                    "Type": 2, "Target": ""}
        assert links["sub"]["Type"] == 1 and links["ln"]["Type"] == 4 and links["ln"]["Target"] == "big.bin"
        r = await http.post("/api/v0/get", params={"arg": str(root)})
        with tarfile.open(fileobj=io.BytesIO(r.content)) as tf:
            names = tf.getnames()
            assert f"{root}/sub/inner.txt" in names
            assert tf.extractfile(f"{root}/big.bin").read() == API_DATA
            assert tf.getmember(f"{root}/ln").linkname == "big.bin"
