import pytest

from jiaozi_node.bitswap.ledger import SEND_BLOCK, SEND_DONT_HAVE, SEND_HAVE, Ledger
from jiaozi_node.bitswap.wantlist import Want


def test_tasks_fifo_and_requeue_moves_to_end():
    led = Ledger.create("P", max_wants=8)
    led.queue(b"a", SEND_BLOCK)
    led.queue(b"b", SEND_HAVE)
    led.queue(b"a", SEND_DONT_HAVE)
    assert [led.pop_task().cid, led.pop_task().cid] == [b"b", b"a"]
    assert not led.has_tasks()
    with pytest.raises(KeyError):
        led.pop_task()


def test_cancel_removes_want_and_task():
    led = Ledger.create("P", max_wants=8)
    led.wants.add(Want(b"a"))
    led.queue(b"a", SEND_BLOCK)
    led.cancel(b"a")
    assert b"a" not in led.wants and not led.has_tasks()
