from __future__ import annotations

import fcntl
import os
import subprocess
import sys

import pytest

from jiaozi_node.store.lock import GcLock


def try_flock(path, mode) -> bool:
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_shared_holders_coexist_and_exclude_gc(tmp_path):
    lock = GcLock(tmp_path)
    with lock.shared(), lock.shared():
        assert try_flock(lock.path, fcntl.LOCK_SH)
        assert not try_flock(lock.path, fcntl.LOCK_EX)
    assert try_flock(lock.path, fcntl.LOCK_EX)


def test_try_shared_takes_the_lock_unless_gc_holds_it(tmp_path):
    lock = GcLock(tmp_path)
    held = lock.try_shared()
    assert held is not None
    with held:
        assert try_flock(lock.path, fcntl.LOCK_SH) and not try_flock(lock.path, fcntl.LOCK_EX)
    assert try_flock(lock.path, fcntl.LOCK_EX)
    with lock.exclusive():
        assert lock.try_shared() is None  # GC runs: the caller waits in shared() instead
    before = len(os.listdir(f"/proc/{os.getpid()}/fd"))  # a refused try leaks no descriptor
    with lock.exclusive():
        for _ in range(5):
            assert lock.try_shared() is None
    assert len(os.listdir(f"/proc/{os.getpid()}/fd")) == before


def test_exclusive_blocks_writers(tmp_path):
    lock = GcLock(tmp_path)
    with lock.exclusive():
        assert not try_flock(lock.path, fcntl.LOCK_SH)
    assert try_flock(lock.path, fcntl.LOCK_SH)


def test_released_on_exception_and_across_processes(tmp_path):
    lock = GcLock(tmp_path)
    with pytest.raises(RuntimeError), lock.exclusive():
        raise RuntimeError
    code = ("import fcntl,os,sys; fd=os.open(sys.argv[1], os.O_RDWR); "
            "fcntl.flock(fd, fcntl.LOCK_EX|fcntl.LOCK_NB)")
    with lock.shared():
        assert subprocess.run([sys.executable, "-c", code, str(lock.path)], capture_output=True).returncode != 0
    assert subprocess.run([sys.executable, "-c", code, str(lock.path)]).returncode == 0
