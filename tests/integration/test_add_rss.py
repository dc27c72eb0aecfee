"""`jzfs add` streams: the adding process's peak RSS stays bounded whatever the file size.

The issue's figure is "a 1 GiB file keeps the process under 200 MB RSS"; the bound does not depend
on the size (blocks leave in put batches, the store's mapped pages are released as we go), so
256 MiB of non-repeating data (no deduplicated leaves: every block is written) is enough to show
it and keeps the test a few seconds long. The child is forked from a small launcher, not from
pytest: Linux carries the hiwater RSS of the address space a process exec'd from into its
ru_maxrss, which would charge pytest's own memory to the child.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

MiB = 1 << 20
LIMIT_MB = 200

LAUNCHER = textwrap.dedent("""
    import os, sys
    pid = os.fork()
    if pid == 0:
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        os.execvp(sys.argv[1], sys.argv[1:])
    _, status, ru = os.wait4(pid, 0)
    print(os.waitstatus_to_exitcode(status), ru.ru_maxrss, flush=True)
""")


def _write_distinct(path: Path, size: int) -> None:
    """Every 256 KiB and 1 MiB chunk differs (shifted windows of one pseudo-random block)."""
    block = hashlib.shake_128(b"add-rss").digest(16 * MiB + 4096)
    with open(path, "wb") as f:
        written = i = 0
        while written < size:
            piece = block[i % 4096 : i % 4096 + min(16 * MiB, size - written)]
            f.write(piece)
            written += len(piece)
            i += 1


def _peak_rss_mb(args: list[str], env: dict[str, str]) -> float:
    out = subprocess.run([sys.executable, "-c", LAUNCHER, *args], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    rc, maxrss_kb = int(out[0]), int(out[1])
    assert rc == 0
    return maxrss_kb * 1024 / 1e6


def test_add_of_256_mib_stays_under_200_mb_rss(tmp_path: Path) -> None:
    src = tmp_path / "big.bin"
    _write_distinct(src, 256 * MiB)
    env = {**os.environ, "JZFS_PATH": str(tmp_path / "repo")}
    jzfs = [sys.executable, "-m", "jiaozi_node.cli.main"]
    subprocess.run([*jzfs, "init"], env=env, check=True, capture_output=True)
    for profile in ("unixfs-v1-2025", "unixfs-v0-2015"):
        peak = _peak_rss_mb([*jzfs, "add", "-Q", f"--profile={profile}", str(src)], env)
        assert peak < LIMIT_MB, (profile, peak)
