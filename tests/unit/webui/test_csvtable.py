from __future__ import annotations

import pytest

from jiaozi_node.errors import LimitExceeded
from jiaozi_node.webui.csvtable import cell_type, delimiter_for, infer_types, read_rows, sort_key


def chunks(data: bytes, n: int = 7):
    for i in range(0, len(data), n):
        yield data[i:i + n]


def test_pages_end_on_record_boundaries_with_quoted_newlines():
    data = b'h1,h2\n1,"a\nb"\n2,x\n3,"y,z"\n'
    head = read_rows(chunks(data), start=0, delimiter=",", max_rows=1, max_bytes=1 << 20)
    assert head.rows == [["h1", "h2"]] and head.end == 6
    p = read_rows(chunks(data[head.end:]), start=head.end, delimiter=",", max_rows=2, max_bytes=1 << 20)
    assert p.rows == [["1", "a\nb"], ["2", "x"]] and not p.eof
    p2 = read_rows(chunks(data[p.end:]), start=p.end, delimiter=",", max_rows=2, max_bytes=1 << 20)
    assert p2.rows == [["3", "y,z"]] and p2.eof and p2.end == len(data)


def test_reads_stop_after_the_page():
    pulled = []

    def endless():
        i = 0
        while True:
            pulled.append(i)
            yield f"{i},v\n".encode() * 100
            i += 1

    p = read_rows(endless(), start=0, delimiter=",", max_rows=10, max_bytes=1 << 20)
    assert len(p.rows) == 10 and len(pulled) <= 2


def test_row_longer_than_budget():
    with pytest.raises(LimitExceeded):
        read_rows(iter([b"x" * 1000] * 100), start=0, delimiter=",", max_rows=1, max_bytes=10_000)


def test_types_and_sort():
    assert [cell_type(v) for v in ["1", "-2.5", "1e3", "true", "2026-01-02", "2026-01-02T10:00:00Z", "x", ""]] == [
        "integer", "number", "number", "boolean", "date", "date", "text", "empty"]
    rows = [["10", "b"], ["9", ""], ["x", "a"], ["", "c"]]
    assert infer_types(rows, 2) == ["text", "text"]
    assert infer_types([["1"], ["2.5"], [""]], 1) == ["number"]
    assert sorted([["10"], ["9"], [""]], key=sort_key("integer", 0)) == [["9"], ["10"], [""]]
    assert delimiter_for("a.TSV") == "\t" and delimiter_for("a.csv") == "," and delimiter_for("a.txt") is None
