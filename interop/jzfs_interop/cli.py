"""Running `jzfs` as a user does (a subprocess) with `python -X importtime`, and reading which
modules it imported: one-shot commands that dial plain TCP peers must not import py-libp2p."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import trio


async def run_jzfs(args: Sequence[str], env: dict[str, str]) -> tuple[int, bytes, bytes]:
    """(exit code, stdout, stderr) of `python -X importtime -m jiaozi_node.cli.main ARGS`."""
    res = await trio.run_process([sys.executable, "-X", "importtime", "-m", "jiaozi_node.cli.main",
                                  *args], env=env, capture_stdout=True, capture_stderr=True,
                                 check=False)
    return res.returncode, res.stdout, res.stderr


def imported_libp2p(importtime_stderr: bytes) -> list[str]:
    """Modules of the `libp2p` package in `-X importtime` output."""
    names = [line.rsplit("|", 1)[-1].strip() for line in importtime_stderr.decode().splitlines()
             if line.startswith("import time:")]
    assert len(names) > 50, "no -X importtime output"  # so that the check can fail
    return [n for n in names if n == "libp2p" or n.startswith("libp2p.")]
