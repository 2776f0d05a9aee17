"""Running the bridge: a thread per group inside the order service, started when a group is configured."""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import uuid
from collections.abc import Mapping

from sqlalchemy import (
    Engine,
)

from orders.entrypoints.bridge.targets import BridgeConfig
from orders.entrypoints.bridge.worker import TargetWorker

log = logging.getLogger(__name__)


class Bridge:
    """One thread per target."""

    def __init__(self, engine: Engine, config: BridgeConfig, owner: str | None = None) -> None:
        self.engine = engine
        self.config = config
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.workers = [TargetWorker(engine, target, config, self.owner) for target in config.targets]
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> Bridge:
        for worker in self.workers:
            thread = threading.Thread(
                target=self._run, args=(worker,), name=f"bridge-{worker.target.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        log.info("chat bridge started: %s", ", ".join(w.target.name for w in self.workers))
        return self

    def _run(self, worker: TargetWorker) -> None:
        while not self._stopping.is_set():
            try:
                delay = worker.run_once()
            except Exception:
                log.exception("bridge %s: step failed", worker.target.name)
                delay = max(self.config.poll_seconds, 5.0)
            if delay > 0:
                self._stopping.wait(delay)

    def stop(self, timeout_s: float = 15.0) -> None:
        """Stop after the post in flight (if any) and hand the leases back."""
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout_s)
        for worker, thread in zip(self.workers, self._threads, strict=True):
            if thread.is_alive():
                continue
            try:
                worker.release()
            except Exception:
                log.warning("bridge %s: lease not released", worker.target.name, exc_info=True)
        self._threads = []


def start_bridge(engine: Engine, environ: Mapping[str, str] | None = None) -> Bridge | None:
    """Start the bridge when at least one group is configured (and ORDERBOT_BRIDGE is not off)."""
    config = BridgeConfig.from_env(environ)
    if not config.enabled or not config.targets:
        return None
    bridge = Bridge(engine, config).start()
    atexit.register(bridge.stop)
    return bridge
