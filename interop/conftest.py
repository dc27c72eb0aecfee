"""pytest fixtures for the interop suite: real Kubo and Helia peers, loopback only.

Importing this file (pytest does so while collecting ``interop/``) moves the whole pytest
process into a fresh network namespace that holds only ``lo`` (see jzfs_interop/netns.py), so
every peer, every ``jzfs daemon`` subprocess and any jzfs node running inside the test process
share one loopback and cannot reach anything else. Where namespaces are not permitted it prints
a warning and falls back to confined configs only.

Fixtures (function scope unless noted):
    kubo            started KuboPeer (RSA identity, like stock Kubo)
    kubo_ed25519    started KuboPeer with an Ed25519 identity
    kubo_session    session-scoped KuboPeer
    kubo_factory    kubo_factory(**KuboPeer kwargs) -> started KuboPeer; all stopped at teardown
    helia           started online HeliaPeer (memory blockstore)
    helia_session   session-scoped online HeliaPeer
    helia_offline   session-scoped offline HeliaPeer (CIDs / CARs without libp2p)
    helia_factory   helia_factory(**HeliaPeer kwargs) -> started HeliaPeer
    interop_confinement  session: the Confinement (netns True/False and how)
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

import jzfs_interop  # noqa: E402
from jzfs_interop import netns  # noqa: E402

# py-libp2p installs a top-level package named ``interop``; ours is ``jzfs_interop``. Make sure
# the harness really comes from this folder.
assert Path(jzfs_interop.__file__).resolve().parent == _HERE / "jzfs_interop", jzfs_interop.__file__

# Enter the loopback-only namespace NOW, while pytest is still single-threaded.
CONFINEMENT = netns.ensure_confined()

from jzfs_interop.helia import HeliaPeer, node_available  # noqa: E402
from jzfs_interop.kubo import KuboPeer  # noqa: E402

_ALLOW = not CONFINEMENT.netns  # fallback mode: peers may start, configs still confined


def pytest_report_header(config):
    return f"jzfs interop: network namespace={CONFINEMENT.netns} ({CONFINEMENT.how})"


def pytest_configure(config):
    if not CONFINEMENT.netns:
        # pytest captures stderr while loading conftests: repeat the warning where it is seen.
        import warnings

        warnings.warn(f"jzfs interop ran WITHOUT a loopback-only network namespace "
                      f"({CONFINEMENT.how}); peer configs were still confined", stacklevel=1)


def pytest_terminal_summary(terminalreporter):
    if not CONFINEMENT.netns:
        terminalreporter.write_sep("!", "jzfs interop: NO network namespace (fallback)", red=True)
        terminalreporter.write_line(f"  {CONFINEMENT.how}")
        terminalreporter.write_line("  peer configs were confined to 127.0.0.1; run as root or via "
                                    "interop/run.sh to get the namespace")


@pytest.fixture(scope="session")
def interop_confinement():
    return CONFINEMENT


def _need_node():
    ok, why = node_available()
    if ok:
        return
    import shutil

    if shutil.which("node") is None or shutil.which("npm") is None:
        # never a skip: CI must not go green without having run the Helia tests
        pytest.fail(f"Helia interop needs Node.js >= 20 and npm ({why}): run interop/setup.sh",
                    pytrace=False)
    pytest.fail(f"Helia harness not installed: {why}: run interop/setup.sh", pytrace=False)


# -- Kubo ---------------------------------------------------------------------------------------
@pytest.fixture
def kubo_factory(tmp_path):
    peers: list[KuboPeer] = []

    def make(**kw) -> KuboPeer:
        kw.setdefault("allow_no_netns", _ALLOW)
        repo = kw.pop("repo", tmp_path / f"kubo{len(peers)}" / "repo")
        p = KuboPeer(repo, **kw)
        peers.append(p)
        return p.start()

    yield make
    for p in reversed(peers):
        p.stop()


@pytest.fixture
def kubo(kubo_factory) -> KuboPeer:
    return kubo_factory()


@pytest.fixture
def kubo_ed25519(kubo_factory) -> KuboPeer:
    return kubo_factory(identity="ed25519")


@pytest.fixture(scope="session")
def kubo_session(tmp_path_factory):
    with KuboPeer(tmp_path_factory.mktemp("kubo_session") / "repo", allow_no_netns=_ALLOW) as p:
        yield p


# -- Helia --------------------------------------------------------------------------------------
@pytest.fixture
def helia_factory():
    _need_node()
    peers: list[HeliaPeer] = []

    def make(**kw) -> HeliaPeer:
        kw.setdefault("allow_no_netns", _ALLOW)
        p = HeliaPeer(**kw)
        peers.append(p)
        return p.start()

    yield make
    for p in reversed(peers):
        p.stop()


@pytest.fixture
def helia(helia_factory) -> HeliaPeer:
    return helia_factory()


@pytest.fixture(scope="session")
def helia_session():
    _need_node()
    with HeliaPeer(allow_no_netns=_ALLOW) as p:
        yield p


@pytest.fixture(scope="session")
def helia_offline():
    _need_node()
    with HeliaPeer(offline=True) as p:
        yield p


def _load_tests_conftest():  # tests/ is not a package: load its conftest by path
    import importlib.util

    spec = importlib.util.spec_from_file_location("jzfs_tests_conftest", _HERE.parent / "tests" / "conftest.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# `jzfs daemon` subprocesses on 127.0.0.1 (the same fixture as tests/conftest.py; here they run
# inside the loopback-only namespace with the real peers).
jzfs_daemon_factory = _load_tests_conftest().jzfs_daemon_factory
