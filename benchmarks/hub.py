"""Notification hub: one hub process holds 5,000 WebSocket clients; one event fans out to 1,000 of
them (operations), the 4,000 others (customers) stay idle. The anchor, in the same run, is a bare
`websockets` broadcast server doing the same work: same clients, same JSON event, same filter.

Delivery latency of a client = its receive time - the event's "time" (for orderbot: the moment the
service layer made the change, so commit, dispatch and fan-out all count). Each side first sends one
warm-up event, reported on its own (a server's first event pays one-off start-up costs).

    python -m benchmarks.hub                -> prints one JSON line (the clients run in this process)
    python -m benchmarks.hub anchor PORT    -> the anchor server
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from benchmarks.table import percentile
from devtools.procfs import rss_mb

CLIENTS = int(os.environ.get("BENCH_HUB_CLIENTS", "5000"))
SUBSCRIBERS = int(os.environ.get("BENCH_HUB_SUBSCRIBERS", "1000"))
ROUNDS = int(os.environ.get("BENCH_HUB_ROUNDS", "20"))
CONNECT_CONCURRENCY = 100
ROUND_TIMEOUT_S = 15.0
SECRET = "bench-hub-secret-0123456789-0123456789-0123"
ROOT = Path(__file__).resolve().parent.parent


def raise_open_files_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


# --- the anchor: a bare websockets broadcast server ----------------------------------------------------


async def anchor_server(port: int) -> None:
    from websockets.asyncio.server import broadcast, serve

    subscribers: set = set()
    sequence = 0

    async def handler(ws) -> None:
        nonlocal sequence
        hello = json.loads(await ws.recv())
        if hello.get("type") == "publish":  # the benchmark's trigger, one per round
            async for _ in ws:
                sequence += 1
                broadcast(subscribers, _event_frame(sequence, datetime.now(timezone.utc)))
            return
        role = "operations" if hello.get("role") == "operations" else "customer"
        await ws.send(json.dumps({"type": "ready", "role": role, "after": sequence}))
        if role == "operations":
            subscribers.add(ws)
        try:
            await ws.wait_closed()
        finally:
            subscribers.discard(ws)

    async with serve(handler, "127.0.0.1", port, compression=None, ping_interval=None, backlog=4096):
        await asyncio.Future()


def _event_frame(event_id: int, when: datetime) -> str:
    """An event shaped as the hub's (same size, same JSON work)."""
    return json.dumps(
        {
            "type": "event",
            "id": event_id,
            "event_type": "handoff_requested",
            "order_id": None,
            "customer_id": None,
            "time": when.isoformat(),
            "recipient_role": "operations",
            "message": {
                "en": 'Ticket #1: a web user asks for a person: "bench"',
                "zh": "工单 #1：web 用户请求人工服务：“bench”",
            },
            "data": {"ticket_id": event_id, "conversation_id": "bench", "channel": "web"},
        },
        ensure_ascii=False,
    )


# --- the clients ---------------------------------------------------------------------------------------


class Crowd:
    """CLIENTS connections, SUBSCRIBERS of them operations; receipts timed as they arrive."""

    def __init__(self, url: str, tokens: list[str]) -> None:
        self.url = url
        self.tokens = tokens
        self.connections: list = []
        self.receipts: list[tuple[float, str]] = []  # (receive time, raw frame) of subscribers
        self.idle_receipts = 0
        self._readers: list[asyncio.Task] = []

    async def open(self) -> float:
        from websockets.asyncio.client import connect

        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def one(index: int):
            async with gate:
                ws = await connect(self.url, compression=None, ping_interval=None, open_timeout=120)
                role = "operations" if index < SUBSCRIBERS else "customer"
                await ws.send(
                    json.dumps({"type": "auth", "token": self.tokens[index], "after": None, "role": role})
                )
                ready = json.loads(await ws.recv())
                assert ready["type"] == "ready", ready
                return ws

        started = time.perf_counter()
        self.connections = await asyncio.gather(*(one(i) for i in range(CLIENTS)))
        elapsed = time.perf_counter() - started
        for index, ws in enumerate(self.connections):
            self._readers.append(asyncio.create_task(self._read(ws, index < SUBSCRIBERS)))
        return elapsed

    async def _read(self, ws, subscriber: bool) -> None:
        try:
            async for raw in ws:
                if subscriber:
                    self.receipts.append((time.time(), raw))
                elif '"event"' in raw:
                    self.idle_receipts += 1
        except Exception:
            pass

    def alive(self) -> int:
        from websockets.protocol import State

        return sum(1 for ws in self.connections if ws.state is State.OPEN)

    async def rounds(self, publish) -> tuple[list[float], list[float]]:
        """(the delivery latencies of ROUNDS events, those of the warm-up event).

        One warm-up event goes first on both sides, outside the measure: a server's first event
        after its start pays one-off costs (orderbot's first REST call compiles its SQL, opens pool
        connections) that are not fan-out; its figure is reported on its own."""
        # This process's own garbage collection is not the server's latency: a full collection of
        # 5,000 connections' objects pauses every reader for 100 ms or more, in either side's rounds.
        gc.collect()
        gc.freeze()
        gc.disable()
        try:
            warm_up = await self._round(publish)
            measured = [await self._round(publish) for _ in range(ROUNDS)]
        finally:
            gc.enable()
            gc.unfreeze()
        return [latency for each in measured for latency in each], warm_up

    async def _round(self, publish) -> list[float]:
        before = len(self.receipts)
        await publish()
        deadline = time.monotonic() + ROUND_TIMEOUT_S
        while len(self.receipts) - before < SUBSCRIBERS and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.2)  # quiet between rounds
        latencies = []
        for received, raw in self.receipts[before:]:
            frame = json.loads(raw)
            if frame.get("type") == "event":
                latencies.append(received - datetime.fromisoformat(frame["time"]).timestamp())
        return latencies

    async def close(self) -> None:
        for task in self._readers:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in self.connections), return_exceptions=True)


def _tokens() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from orders.domain.access import Actor, Role, Source
    from orders.entrypoints.auth import TokenSigner

    signer = TokenSigner(SECRET, timedelta(hours=2), None)
    operations = signer.issue(Actor("bench-ops", Role.OPERATIONS, Source.REST))
    return [
        operations if i < SUBSCRIBERS else signer.issue(Actor(f"c{i}", Role.CUSTOMER, Source.REST, f"C-{i}"))
        for i in range(CLIENTS)
    ]


async def post_json(port: int, path: str, token: str, body: dict) -> int:
    """POST ``body`` to the loopback server from the event loop itself, returning the status. (A
    thread making the call, as requests would, contends for the GIL with the loop timing the
    receipts.) One connection per request, read to its end."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = json.dumps(body).encode()
    writer.write(
        (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n"
        ).encode()
        + data
    )
    await writer.drain()
    response = await reader.read()
    writer.close()
    await writer.wait_closed()
    return int(response.split(b" ", 2)[1])


async def _measure_orderbot(port: int, tokens: list[str], server_pid: int) -> dict:
    crowd = Crowd(f"ws://127.0.0.1:{port}/ws/notifications", tokens)
    connect_s = await crowd.open()

    async def publish() -> None:
        # The REST call commits a handoff ticket; the hub pushes its outbox row. A conversation has
        # one open ticket at a time: a new conversation each round.
        body = {"conversation_id": f"bench-{uuid.uuid4().hex}", "channel": "web", "message": "bench"}
        status = await post_json(port, "/api/v1/handoffs", tokens[0], body)
        assert status < 300, status

    latencies, warm_up = await crowd.rounds(publish)
    result = _summary(crowd, latencies, connect_s, server_pid, warm_up)
    await crowd.close()
    return result


async def _measure_anchor(port: int, tokens: list[str], server_pid: int) -> dict:
    from websockets.asyncio.client import connect

    crowd = Crowd(f"ws://127.0.0.1:{port}", tokens)
    connect_s = await crowd.open()
    publisher = await connect(f"ws://127.0.0.1:{port}", compression=None, ping_interval=None)
    await publisher.send(json.dumps({"type": "publish"}))

    async def publish() -> None:
        await publisher.send("go")

    latencies, warm_up = await crowd.rounds(publish)
    result = _summary(crowd, latencies, connect_s, server_pid, warm_up)
    await publisher.close()
    await crowd.close()
    return result


def _summary(
    crowd: Crowd, latencies: list[float], connect_s: float, server_pid: int, warm_up: list[float]
) -> dict:
    expected = (ROUNDS + 1) * SUBSCRIBERS  # the warm-up event must arrive too
    server_rss = rss_mb(server_pid, with_children=True)  # gunicorn: master and worker
    return {
        "first_event_max_ms": max(warm_up) * 1000 if warm_up else float("nan"),
        "held": crowd.alive(),
        "delivered": len(latencies),
        "lost": expected - len(latencies) - len(warm_up),
        "idle_receipts": crowd.idle_receipts,
        "connect_s": round(connect_s, 2),
        "p50_ms": percentile(latencies, 50) * 1000 if latencies else float("nan"),
        "p99_ms": percentile(latencies, 99) * 1000 if latencies else float("nan"),
        "max_ms": max(latencies) * 1000 if latencies else float("nan"),
        "server_rss_mb": round(server_rss, 1) if server_rss is not None else float("nan"),
    }


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_port(port: int, process: subprocess.Popen, timeout_s: float = 60) -> None:
    import socket

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port}")


def measure() -> dict:
    raise_open_files_limit(CLIENTS * 2 + 1024)
    tokens = _tokens()
    python = sys.executable
    result: dict = {"clients": CLIENTS, "subscribers": SUBSCRIBERS, "rounds": ROUNDS}
    with tempfile.TemporaryDirectory(prefix="orderbot-bench-hub-") as tmp:
        port = _free_port()
        env = dict(
            os.environ,
            ORDERBOT_VAR_DIR=tmp,
            ORDERBOT_DATABASE_URL=f"sqlite:///{tmp}/hub.db",
            ORDERBOT_SAMPLE_DATA="",
            ORDERBOT_SCHEDULER="off",
            ORDERBOT_JWT_SECRET=SECRET,
            ORDERS_PORT=str(port),
        )
        server = subprocess.Popen(
            [python, "-m", "orders", "serve"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_port(port, server)
            print(f"hub: {CLIENTS:,} clients on orderbot ...", file=sys.stderr, flush=True)
            result["orderbot"] = asyncio.run(_measure_orderbot(port, tokens, server.pid))
        finally:
            server.terminate()
            server.wait(30)

    port = _free_port()
    anchor = subprocess.Popen([python, "-m", "benchmarks.hub", "anchor", str(port)], cwd=ROOT)
    try:
        _wait_port(port, anchor)
        print(f"hub: {CLIENTS:,} clients on the anchor ...", file=sys.stderr, flush=True)
        result["anchor"] = asyncio.run(_measure_anchor(port, tokens, anchor.pid))
    finally:
        anchor.terminate()
        anchor.wait(30)
    return result


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "anchor":
        raise_open_files_limit(CLIENTS * 2 + 1024)
        asyncio.run(anchor_server(int(sys.argv[2])))
        return 0
    print(json.dumps(measure()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
