"""Running a producer of items in a forked child process, its items coming back through a pipe.

An import cleans every row in Python and writes it to the database; with the reading and cleaning in
a child, the two run on two cores at once. Only where forking is safe: a process with one thread
(a thread holding a lock at the fork would leave it locked in the child forever) and not under
gevent (the order service's server); elsewhere callers run the producer in-process.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
PIPE_BYTES = 1 << 20  # Linux's limit for an unprivileged process (/proc/sys/fs/pipe-max-size)


class ChildProcessFailed(RuntimeError):
    """The child ended without finishing (killed, out of memory) or its error could not be sent."""


def can_fork() -> bool:
    if not hasattr(os, "fork") or threading.active_count() != 1:
        return False
    try:
        from gevent import monkey
    except ImportError:
        return True
    return not monkey.is_module_patched("threading")


def items_from_child(produce: Callable[[], Iterable[T]], name: str) -> Iterator[T]:
    """The items ``produce()`` yields, made in a forked child; an exception it raises is raised here
    once the items before it are consumed. The pipe holds about one item: the child works at most
    one item ahead of the consumer, so memory stays bounded. Closing the iterator stops the child."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    _widen(sender)
    child = context.Process(target=_produce, args=(produce, sender), name=name, daemon=True)
    child.start()
    sender.close()  # the child's end: EOF here once the child exits, however it exits
    try:
        while True:
            try:
                kind, payload = receiver.recv()
            except EOFError:
                child.join(10)
                raise ChildProcessFailed(f"{name} ended unexpectedly (exit code {child.exitcode})") from None
            if kind == "item":
                yield payload
            elif kind == "done":
                return
            else:
                raise payload
    finally:
        receiver.close()
        if child.is_alive():
            child.terminate()
        child.join(10)


def _widen(connection) -> None:
    """A roomier pipe (Linux; 64 KiB by default): the child hands over an item and goes on with the
    next while the consumer is still busy, instead of waiting until the consumer reads."""
    try:
        import fcntl

        fcntl.fcntl(connection.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, AttributeError, OSError):
        pass  # another system, or above the limit: the default pipe works, only less smoothly


def _produce(produce: Callable[[], Iterable[T]], sender) -> None:
    try:
        try:
            for item in produce():
                sender.send(("item", item))
        except (BrokenPipeError, ConnectionResetError):
            return  # the consumer stopped listening
        except BaseException as problem:  # noqa: BLE001 - every failure goes to the consumer
            sender.send(("error", _sendable(problem)))
            return
        sender.send(("done", None))
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        sender.close()


def _sendable(problem: BaseException) -> BaseException:
    """``problem`` if it survives pickling (the consumer re-raises it as it is), else its text."""
    try:
        pickle.loads(pickle.dumps(problem))
    except Exception:
        return ChildProcessFailed(f"{type(problem).__name__}: {problem}")
    return problem
