"""Running a producer of items in a forked child process, its items coming back through a pipe.

An import cleans every row in Python and writes it to the database; with the reading and cleaning in
a child, the two run on two cores at once. Only where forking is safe: a process with one thread
(a thread holding a lock at the fork would leave it locked in the child forever) and not under
gevent (the order service's server); elsewhere callers run the producer in-process.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import pickle
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
PIPE_BYTES = 1 << 20  # Linux's limit for an unprivileged process (/proc/sys/fs/pipe-max-size)

# produce(consumer_idle) -> items; consumer_idle() says whether the consumer has waited for an item
# since the last call (so the producer may hand over work undone, for the consumer to do itself).
Producer = Callable[[Callable[[], bool]], Iterable[T]]


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


def items_from_child(produce: Producer, name: str) -> Iterator[T]:
    """The items ``produce`` yields, made in a forked child; an exception it raises is raised here
    once the items before it are consumed. The pipe holds about one item: the child works at most
    one item ahead of the consumer, so memory stays bounded. Closing the iterator stops the child."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    idle_receiver, idle_sender = context.Pipe(duplex=False)
    _widen(sender)
    child = context.Process(target=_produce, args=(produce, sender, idle_receiver), name=name, daemon=True)
    child.start()
    sender.close()  # the child's ends: EOF here once the child exits, however it exits
    idle_receiver.close()
    try:
        while True:
            if not receiver.poll():
                _tell(idle_sender)  # about to wait: the child may hand over its next item undone
            try:
                kind, payload = pickle.loads(receiver.recv_bytes())
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
        idle_sender.close()
        if child.is_alive():
            child.terminate()
        child.join(10)


def _tell(connection) -> None:
    with contextlib.suppress(OSError):  # the child has ended: the data pipe says how
        connection.send_bytes(b"idle")


def _widen(connection) -> None:
    """A roomier pipe (Linux; 64 KiB by default): the child hands over an item and goes on with the
    next while the consumer is still busy, instead of waiting until the consumer reads."""
    try:
        import fcntl

        fcntl.fcntl(connection.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, AttributeError, OSError):
        pass  # another system, or above the limit: the default pipe works, only less smoothly


def _produce(produce: Producer, sender, idle) -> None:
    def consumer_idle() -> bool:
        waited = False
        try:
            while idle.poll():
                idle.recv_bytes()
                waited = True
        except (EOFError, OSError):
            pass
        return waited

    try:
        try:
            for item in produce(consumer_idle):
                try:
                    sender.send_bytes(_dumps(("item", item)))
                except (BrokenPipeError, ConnectionResetError):
                    return  # the consumer stopped listening (not the producer's own lost connection)
        except BaseException as problem:  # noqa: BLE001 - every failure goes to the consumer
            sender.send_bytes(_dumps(("error", _sendable(problem))))
            return
        sender.send_bytes(_dumps(("done", None)))
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        sender.close()


def _dumps(value: Any) -> bytes:
    """Pickled without the memo: a third of the time for many small strings and tuples (shared
    objects are written once each time they occur; a cycle falls back to the usual pickling)."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True
    try:
        pickler.dump(value)
    except (ValueError, RecursionError):
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return buffer.getvalue()


def _sendable(problem: BaseException) -> BaseException:
    """``problem`` if it survives pickling (the consumer re-raises it as it is), else its text."""
    try:
        pickle.loads(pickle.dumps(problem))
    except Exception:
        return ChildProcessFailed(f"{type(problem).__name__}: {problem}")
    return problem
