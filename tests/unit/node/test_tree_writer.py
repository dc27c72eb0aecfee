"""node/tree_writer.py: the one checked writer of trees on disk (get, daemon get, checkout)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jiaozi_node.config import TreeLimits
from jiaozi_node.errors import InvalidInput, LimitExceeded
from jiaozi_node.node.tree_writer import DirChain, TreeEntry, remove_entry, write_tree


def D(*path: str) -> TreeEntry:  # noqa: N802
    return TreeEntry(tuple(path), "directory")


def F(*path: str, data: bytes = b"x") -> TreeEntry:  # noqa: N802
    return TreeEntry(tuple(path), "file", data=[data[:3], data[3:]])


def L(*path: str, target: str) -> TreeEntry:  # noqa: N802
    return TreeEntry(tuple(path), "symlink", target=target)


def test_writes_a_tree_and_counts_bytes(tmp_path: Path) -> None:
    seen: list[int] = []
    write_tree([D(), F("a.txt", data=b"hello"), D("sub"), F("sub", "b", data=b""), L("sub", "up", target="../a.txt"),
                D("e")], tmp_path / "out", on_bytes=seen.append)
    out = tmp_path / "out"
    assert (out / "a.txt").read_bytes() == b"hello" and (out / "sub" / "b").read_bytes() == b""
    assert os.readlink(out / "sub" / "up") == "../a.txt" and (out / "sub" / "up").read_bytes() == b"hello"
    assert (out / "e").is_dir() and sum(seen) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary directory left


def test_root_file_and_root_symlink(tmp_path: Path) -> None:
    write_tree([F(data=b"abc")], tmp_path / "f")
    assert (tmp_path / "f").read_bytes() == b"abc"
    write_tree([L(target="/etc/passwd")], tmp_path / "l")
    assert os.readlink(tmp_path / "l") == "/etc/passwd"


def test_dest_must_not_exist(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"keep")
    os.symlink("/nonexistent", tmp_path / "dangling")
    for name in ("f", "dangling"):
        with pytest.raises(InvalidInput, match="already exists"):
            write_tree([F()], tmp_path / name)
    assert (tmp_path / "f").read_bytes() == b"keep"


def test_replace_empty_dir(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    write_tree([D(), F("x")], tmp_path / "empty", replace_empty_dir=True)
    assert (tmp_path / "empty" / "x").exists()
    with pytest.raises(InvalidInput, match="not an empty directory"):
        write_tree([D()], tmp_path / "empty", replace_empty_dir=True)


def test_symlink_then_same_name_never_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    for second in (D("a"), F("a"), L("a", target="x")):
        with pytest.raises(InvalidInput, match="duplicate"):
            write_tree([D(), L("a", target=str(outside)), second, F("a", "pwned")], tmp_path / "out")
        assert list(outside.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["outside"]


@pytest.mark.parametrize("name", ["..", ".", "", "a/b", "a\0b", "x" * 256])
def test_unsafe_names_leave_nothing(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidInput, match="unsafe name"):
        write_tree([D(), D("ok"), F("ok", "f"), F(name)], tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_failure_in_file_data_leaves_nothing(tmp_path: Path) -> None:
    def broken():
        yield b"partial"
        raise InvalidInput("block gone")

    with pytest.raises(InvalidInput, match="block gone"):
        write_tree([D(), D("d"), TreeEntry(("d", "f"), "file", data=broken())], tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_bad_symlink_target_and_empty_stream(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="empty target"):
        write_tree([D(), L("l", target="")], tmp_path / "out")
    with pytest.raises(InvalidInput, match="no root"):
        write_tree([], tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def _chain(depth: int) -> list[TreeEntry]:
    entries = [D()]
    path: tuple[str, ...] = ()
    for i in range(depth):
        path = (*path, f"d{i}")
        entries.append(D(*path))
    entries.append(F(*path, "leaf", data=b"deep"))
    # walking back up: a file in every level after its subdirectory (reopens closed ancestors)
    for i in range(depth, 0, -1):
        entries.append(F(*path[:i - 1], f"after{i}", data=b"%d" % i))
    return entries


def test_deep_tree_with_few_descriptors(tmp_path: Path) -> None:
    limits = TreeLimits(writer_open_dirs=3, max_tree_depth=100)
    before = len(os.listdir("/proc/self/fd"))
    write_tree(_chain(60), tmp_path / "out", limits=limits)
    assert len(os.listdir("/proc/self/fd")) == before
    p = tmp_path / "out"
    for i in range(60):
        assert (p / f"after{i + 1}").read_bytes() == b"%d" % (i + 1)
        p = p / f"d{i}"
    assert (p / "leaf").read_bytes() == b"deep"


def test_too_deep_refused_and_cleaned(tmp_path: Path) -> None:
    with pytest.raises(LimitExceeded, match="TreeLimits.max_tree_depth"):
        write_tree(_chain(30), tmp_path / "out", limits=TreeLimits(max_tree_depth=20, writer_open_dirs=4))
    assert list(tmp_path.iterdir()) == []


def test_dir_chain_reopens_without_following_symlinks(tmp_path: Path) -> None:
    (tmp_path / "a" / "b" / "c").mkdir(parents=True)
    base = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        chain = DirChain(base, keep=1)
        for name in ("a", "b", "c"):
            chain.push(name)
        chain.pop()  # back in b, whose descriptor was closed (keep=1)
        (tmp_path / "a" / "b").rename(tmp_path / "a" / "moved")
        os.symlink("/", tmp_path / "a" / "b")  # reopening b by name must refuse the symlink
        with pytest.raises(OSError):
            chain.fd()
        chain.close()
    finally:
        os.close(base)


def test_remove_entry_any_depth_never_follows(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep").write_bytes(b"k")
    (tmp_path / "t").mkdir()
    fd = os.open(tmp_path / "t", os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(1100):  # deeper than shutil.rmtree's recursion on Python 3.11
        os.mkdir("d", dir_fd=fd)
        nfd = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = nfd
    os.symlink(str(victim), "link", dir_fd=fd)
    os.close(fd)
    top = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        remove_entry(top, "t", keep=8)
        remove_entry(top, "missing")
    finally:
        os.close(top)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victim"] and (victim / "keep").exists()


def test_write_buffer_is_passed_in(tmp_path, monkeypatch):
    from jiaozi_node.node import tree_writer

    writes: list[int] = []
    real = tree_writer._write_all
    monkeypatch.setattr(tree_writer, "_write_all",
                        lambda fd, parts: (writes.append(sum(map(len, parts))), real(fd, parts)))
    chunks = [b"a" * 10] * 10
    write_tree([D(), TreeEntry(("f",), "file", data=chunks)], tmp_path / "out", write_buffer_bytes=25)
    assert (tmp_path / "out" / "f").read_bytes() == b"a" * 100 and writes == [20, 20, 20, 20, 20]


def test_gathered_chunks_are_written_with_writev_through_short_writes(tmp_path, monkeypatch):
    """Small chunks go to writev(2) as they are (no join copying them); a short write resumes
    in the middle of a chunk, in order."""
    from jiaozi_node.node import tree_writer

    calls: list[int] = []
    real = os.writev

    def short_writev(fd, bufs):  # at most 7 bytes per call, like a slow pipe or a full disk
        calls.append(len(bufs))
        head, left = [], 7
        for b in bufs:
            if left <= 0:
                break
            head.append(bytes(b)[:left])
            left -= len(head[-1])
        return real(fd, head)

    monkeypatch.setattr(tree_writer.os, "writev", short_writev)
    chunks = [bytes([65 + i]) * (3 + i) for i in range(12)] + [memoryview(b"tail")]
    write_tree([D(), TreeEntry(("f",), "file", data=chunks)], tmp_path / "out", write_buffer_bytes=40)
    assert (tmp_path / "out" / "f").read_bytes() == b"".join(bytes(c) for c in chunks)
    assert max(calls) > 1  # several chunks per call
