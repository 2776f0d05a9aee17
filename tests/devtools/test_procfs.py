"""Resident memory read from /proc: a process's own, with its children's, and none once it is gone."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from devtools.procfs import rss_mb

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux's /proc")

# A child holding 40 MB (every page touched), under a parent that only waits.
HOLD_40_MB = (
    "import time; block = bytearray(40 * 1024 * 1024); "
    "block[::4096] = b'x' * len(block[::4096]); time.sleep(30)"
)
PARENT = (
    f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {HOLD_40_MB!r}]); time.sleep(30)"
)


def test_a_process_and_its_children():
    parent = subprocess.Popen([sys.executable, "-c", PARENT])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            alone, together = rss_mb(parent.pid), rss_mb(parent.pid, with_children=True)
            if alone and together and together - alone > 40:
                break
            time.sleep(0.1)
        assert alone is not None and together is not None
        assert together - alone > 40  # the child's 40 MB, touched page by page
    finally:
        subprocess.run(["pkill", "-P", str(parent.pid)], check=False)
        parent.kill()
        parent.wait()
    assert rss_mb(parent.pid) is None
