"""Items made in a forked child process: in order, with the child's error, and never a stray child."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from orders.service_layer.child_process import ChildProcessFailed, can_fork, items_from_child


def test_items_come_in_order_and_from_another_process():
    parent = os.getpid()

    def produce(_writer_idle):
        for number in range(50):
            yield number, os.getpid(), "x" * 100_000  # bigger than a default pipe

    items = list(items_from_child(produce, "test producer"))
    assert [number for number, _, _ in items] == list(range(50))
    assert {pid for _, pid, _ in items} != {parent}


class RowError(ValueError):
    pass


def test_the_childs_error_comes_after_the_items_before_it():
    def produce(_writer_idle):
        yield 1
        yield 2
        raise RowError("line 3 is not valid text")

    received = []
    with pytest.raises(RowError, match="line 3"):
        for item in items_from_child(produce, "test producer"):
            received.append(item)
    assert received == [1, 2]


class Unpicklable(Exception):
    def __init__(self, a, b):  # pickling calls __init__ with args=(message,): it cannot come back
        super().__init__(f"{a} and {b}")


def test_an_error_that_cannot_be_pickled_comes_as_its_text():
    def produce(_writer_idle):
        raise Unpicklable("one", "two")
        yield

    with pytest.raises(ChildProcessFailed, match="Unpicklable: one and two"):
        list(items_from_child(produce, "test producer"))


def test_a_killed_child_is_an_error_not_an_early_end():
    def produce(_writer_idle):
        yield 1
        os.kill(os.getpid(), signal.SIGKILL)
        yield 2

    with pytest.raises(ChildProcessFailed, match="ended unexpectedly"):
        list(items_from_child(produce, "test producer"))


def test_stopping_early_ends_the_child(tmp_path):
    marker = tmp_path / "pids"

    def produce(_writer_idle):
        marker.write_text(str(os.getpid()))
        number = 0
        while True:
            number += 1
            yield number

    items = items_from_child(produce, "test producer")
    assert next(items) == 1
    items.close()
    child = int(marker.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)  # gone, and reaped


def test_the_child_hears_when_the_consumer_waited():
    def produce(consumer_idle):
        time.sleep(0.3)  # the consumer is waiting for the first item by now
        yield consumer_idle()
        yield consumer_idle()  # asked at once: the consumer is busy with the first

    items = items_from_child(produce, "test producer")
    first = next(items)
    time.sleep(0.3)
    assert [first, *items] == [True, False]


def test_no_fork_beside_other_threads():
    assert can_fork() is (threading.active_count() == 1)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not can_fork()
    finally:
        stop.set()
        other.join()
