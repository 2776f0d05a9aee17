"""Fixtures shared by the tests of both environments (standard library only: this file runs in both)."""

from __future__ import annotations

import socket

import pytest

_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A loopback port nothing listens on now, never the same twice in one test run: the kernel may
    offer a port again once its probe is closed, and two services of one stack must not share it."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


@pytest.fixture
def unused_port() -> int:
    return free_port()
