"""Throughput of the read side: UnixFS cat, CAR export, CAR import (verify + stage + store).

Prints MB/s and the ratio to SHA-256 over the same bytes (hashlib, measured in the same run: the
floor any verified path pays), and, with --helia, Helia's own CAR import and cat of the same DAG
(measured in the same run, offline, via the interop harness; loopback-only namespace entered).

    python bench/bench_car_exporter.py [--mib 64] [--helia]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path


def timed(fn):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=64)
    ap.add_argument("--helia", action="store_true", help="also time Helia (needs interop/setup.sh)")
    args = ap.parse_args()

    from jiaozi_node.car.reader import iter_car
    from jiaozi_node.config import UNIXFS_V0_2015, UNIXFS_V1_2025
    from jiaozi_node.node.dag import dag_export, dag_import
    from jiaozi_node.repo import Repo
    from jiaozi_node.store.open import open_blockstore
    from jiaozi_node.unixfs.exporter import read_file
    from jiaozi_node.unixfs.importer import import_bytes

    size = args.mib << 20
    data = hashlib.shake_128(b"bench").digest(size)
    mb = size / 1e6
    _, t_sha = timed(lambda: hashlib.sha256(data).digest())
    print(f"reference hashlib sha256: {mb / t_sha:8.0f} MB/s")

    with tempfile.TemporaryDirectory() as tmp:
        repo = Repo.init(Path(tmp) / "repo")
        store = open_blockstore(repo)
        for profile in (UNIXFS_V1_2025, UNIXFS_V0_2015):
            root, blocks, _ = import_bytes(data, profile)
            store.put_many(blocks)
            out_file = Path(tmp) / "jzfs.out"

            def cat_to_file(root=root, out_file=out_file):  # type: ignore[no-untyped-def]
                with open(out_file, "wb") as f:
                    for chunk in read_file(store, root):
                        f.write(chunk)
                return out_file.stat().st_size

            n, t_cat = timed(cat_to_file)
            assert n == size
            out_file.unlink()
            car, t_exp = timed(lambda root=root: b"".join(dag_export(store, root)))
            _, t_parse = timed(lambda car=car: sum(1 for _ in iter_car([car[i:i + (1 << 20)] for i in range(0, len(car), 1 << 20)])))
            repo2 = Repo.init(Path(tmp) / f"repo-{profile.name}")
            store2 = open_blockstore(repo2)
            res, t_imp = timed(lambda car=car, store2=store2: dag_import(store2, [car]))
            store2.close()
            print(f"{profile.name:15} cat to file {mb / t_cat:6.0f} MB/s ({t_sha / t_cat:4.2f}x sha256) | "
                  f"export {mb / t_exp:6.0f} MB/s ({t_sha / t_exp:4.2f}x) | "
                  f"parse+verify {mb / t_parse:6.0f} MB/s ({t_sha / t_parse:4.2f}x) | "
                  f"import {mb / t_imp:6.0f} MB/s ({t_sha / t_imp:4.2f}x) | {res.blocks} blocks")
            if args.helia:
                sys.path.insert(0, str(Path(__file__).parents[1] / "interop"))
                from jzfs_interop import netns
                from jzfs_interop.helia import HeliaPeer

                netns.ensure_confined()
                car_path = Path(tmp) / "x.car"
                car_path.write_bytes(car)
                with HeliaPeer(offline=True) as h:
                    _, t_himp = timed(lambda h=h, car_path=car_path: h.import_car(car_path))
                    out = Path(tmp) / "helia.out"
                    _, t_hcat = timed(lambda h=h, root=root, out=out: h.cat(str(root), out))
                    out.unlink()
                print(f"{'':15} Helia: import {mb / t_himp:6.0f} MB/s (jzfs is {t_himp / t_imp:4.2f}x Helia's speed) | "
                      f"cat to file {mb / t_hcat:6.0f} MB/s (jzfs is {t_hcat / t_cat:4.2f}x Helia's speed)")
        store.close()


if __name__ == "__main__":
    main()
