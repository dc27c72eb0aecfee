"""net/lite is the lean client for one-shot commands: importing it must not import py-libp2p
(~0.6 s), directly or through anything it imports."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import jiaozi_node.net.lite as lite


def test_importing_every_lite_module_imports_no_libp2p() -> None:
    names = sorted(f"jiaozi_node.net.lite.{m.name}" for m in pkgutil.iter_modules(lite.__path__))
    assert "jiaozi_node.net.lite.multistream" in names
    code = ("import importlib, sys\n"
            f"for n in {names!r}: importlib.import_module(n)\n"
            "print(sorted(m for m in sys.modules if m == 'libp2p' or m.startswith('libp2p.')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_check_can_fail() -> None:
    code = "import sys, jiaozi_node.net.transport.noise_io; print('libp2p' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "True", out.stderr
