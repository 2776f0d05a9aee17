"""Fixtures shared by the tests of both environments (standard library only: this file runs in both)."""

from __future__ import annotations

import socket

import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def unused_port() -> int:
    return free_port()
