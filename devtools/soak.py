"""Soak test (`make soak`): 16 concurrent conversations against the whole stack for 5 minutes.

Starts the stack on free loopback ports (the embedded profile, or ``ORDERBOT_PROFILE=prod``), has 16
customers talk to it over Rasa's REST channel without pause (order status, invoice, what the bot can
do, greetings, in both languages; a new conversation every 20 turns), and samples the resident
memory of every process of the stack every few seconds. Passes with 0 errors and every process's
RSS grown less than 10 % from the end of the warm-up (the first fifth of the run) to the end.
Prints a table; exits 1 on failure.

    SOAK_SECONDS=300 SOAK_CONVERSATIONS=16 python -m devtools.soak
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import requests

from devtools.procfs import rss_mb
from devtools.stack import Stack, stack_environment
from tests.conftest import free_port

SECONDS = float(os.environ.get("SOAK_SECONDS", "300"))
CONVERSATIONS = int(os.environ.get("SOAK_CONVERSATIONS", "16"))
SAMPLE_EVERY_S = 5.0
# Each of the 16 keeps talking, starting a new conversation (a new sender) every so many turns, as
# people do; one endless conversation measures the tracker store's cost of a long history instead.
TURNS_PER_CONVERSATION = int(os.environ.get("SOAK_TURNS_PER_CONVERSATION", "20"))
WARM_UP_SHARE = 0.2
RSS_GROWTH_LIMIT = 0.10
# (customer's order, e-mail, what they say in turn): each turn's reply must name what it asks about.
CUSTOMERS = [
    (
        "SO-1003",
        "li.na@example.cn",
        ["hi", "where is SO-1003?", "can I get the invoice for SO-1003", "thanks"],
    ),
    ("SO-1001", "zhang.wei@example.cn", ["你好", "我的订单SO-1001到哪了", "你能做什么", "谢谢"]),
]
EXPECTED = {"where is SO-1003?": "SO-1003", "我的订单SO-1001到哪了": "SO-1001"}


@dataclass
class Tally:
    turns: int = 0
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (the stack's honcho processes and what they started)."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children[parent].append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def process_name(pid: int) -> str:
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(w.decode(errors="replace") for w in words if w)
    if port := re.search(r"rasa run .*--port (\d+)", text):  # the replicas apart
        return f"rasa:{port.group(1)}"
    for marker, name in (
        ("rasa_sdk", "actions"),
        ("actions", "actions"),
        ("rasa run", "rasa"),
        ("bin/rasa", "rasa"),
        ("llm_server", "llm"),
        ("orders serve", "orders"),
        ("-m orders", "orders"),
        ("gunicorn", "orders"),
        ("honcho", "honcho"),
    ):
        if marker in text:
            return name
    return text[:40]


def converse(urls: dict[str, str], deadline: float, tally: Tally, index: int) -> None:
    order_id, email, lines = CUSTOMERS[index % len(CUSTOMERS)]
    # In the prod profile the conversations are spread over both Rasa replicas, as a proxy would, and
    # each replica gets both customers (both languages): a replica's growth is then not a language's.
    replicas = [urls[name] for name in ("rasa-1", "rasa-2") if name in urls] or [urls["rasa"]]
    rasa = replicas[(index // len(CUSTOMERS)) % len(replicas)]
    session = requests.Session()
    token = session.post(
        f"{urls['orders']}/api/v1/auth/customer", json={"order_id": order_id, "email": email}, timeout=30
    ).json()["access_token"]
    turn = 0
    while time.monotonic() < deadline:
        if turn % TURNS_PER_CONVERSATION == 0:
            sender = f"soak-{index}-{uuid.uuid4().hex[:8]}"
        text = lines[turn % len(lines)]
        turn += 1
        started = time.perf_counter()
        try:
            response = session.post(
                f"{rasa}/webhooks/rest/webhook",
                json={"sender": sender, "message": text, "metadata": {"token": token}},
                timeout=30,
            )
            replies = [m.get("text", "") for m in response.json()] if response.ok else []
            problem = None
            if not response.ok:
                problem = f"HTTP {response.status_code}"
            elif not replies:
                problem = "no reply"
            elif text in EXPECTED and EXPECTED[text] not in " ".join(replies):
                problem = f"the reply to {text!r} does not name {EXPECTED[text]}: {replies!r}"[:300]
        except (requests.RequestException, ValueError) as exc:
            problem = f"{type(exc).__name__}: {exc}"[:300]
        with tally.lock:
            tally.turns += 1
            tally.latencies.append(time.perf_counter() - started)
            if problem:
                tally.errors.append(problem)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="orderbot-soak-") as tmp:
        env = stack_environment(
            {
                "PATH": os.environ["PATH"],
                "ORDERBOT_VAR_DIR": tmp,
                "ORDERS_PORT": str(free_port()),
                "ACTIONS_PORT": str(free_port()),
                "RASA_PORT": str(free_port()),
                # the prod profile's second replicas: free ports too, not the first ones' next ports
                "RASA_2_PORT": str(free_port()),
                "ORDERS_2_PORT": str(free_port()),
                "LLM_PORT": str(free_port()),
                "ORDERBOT_SCHEDULER": "off",
                **(
                    {"ORDERBOT_PROFILE": os.environ["ORDERBOT_PROFILE"]}
                    if "ORDERBOT_PROFILE" in os.environ
                    else {}
                ),
            }
        )
        stack = Stack(env)
        print("soak: starting the stack ...", file=sys.stderr, flush=True)
        stack.start(timeout_s=300)
        try:
            return soak(stack.urls())
        finally:
            stack.stop()


def soak(urls: dict[str, str]) -> int:
    tally = Tally()
    started = time.monotonic()
    deadline = started + SECONDS
    threads = [
        threading.Thread(target=converse, args=(urls, deadline, tally, i), daemon=True)
        for i in range(CONVERSATIONS)
    ]
    for thread in threads:
        thread.start()
    samples: dict[tuple[int, str], list[tuple[float, float]]] = defaultdict(list)
    me = os.getpid()
    while time.monotonic() < deadline:
        elapsed = time.monotonic() - started
        for pid in descendants(me):
            rss = rss_mb(pid)
            if rss is not None and rss > 20:  # shells and honcho wrappers are not what we watch
                samples[(pid, process_name(pid))].append((elapsed, rss))
        print(
            f"\rsoak: {elapsed:5.0f}/{SECONDS:.0f} s, {tally.turns} turns, {len(tally.errors)} errors",
            end="",
            file=sys.stderr,
            flush=True,
        )
        time.sleep(SAMPLE_EVERY_S)
    for thread in threads:
        thread.join(timeout=60)
    print(file=sys.stderr)
    return report(tally, samples)


def report(tally: Tally, samples: dict[tuple[int, str], list[tuple[float, float]]]) -> int:
    warm = SECONDS * WARM_UP_SHARE
    ok = not tally.errors
    latencies = sorted(tally.latencies)
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")
    print(
        f"{CONVERSATIONS} conversations, {SECONDS:.0f} s: {tally.turns} turns "
        f"({tally.turns / SECONDS:.1f}/s), {len(tally.errors)} errors, p95 turn {p95 * 1000:.0f} ms"
    )
    marks = [SECONDS * share for share in (0.4, 0.6, 0.8)]
    print(
        f"{'process':<10} {'pid':>7} {'RSS after warm-up':>18} "
        + " ".join(f"{f'at {m:.0f} s':>9}" for m in marks)
        + f" {'at end':>9} {'growth':>7}"
    )
    for (pid, name), points in sorted(samples.items(), key=lambda item: item[0][1]):
        after = [(at, rss) for at, rss in points if at >= warm]
        if len(after) < 2:
            continue
        first, last = after[0][1], after[-1][1]
        growth = (last - first) / first
        ok &= growth < RSS_GROWTH_LIMIT
        between = [next((rss for at, rss in after if at >= m), last) for m in marks]
        print(
            f"{name:<10} {pid:>7} {first:>15.1f} MB "
            + " ".join(f"{rss:>6.1f} MB" for rss in between)
            + f" {last:>6.1f} MB {growth * 100:>6.1f}%"
        )
    for problem in tally.errors[:10]:
        print(f"error: {problem}")
    print("soak: passed" if ok else "soak: FAILED (errors, or a process grew 10 % or more)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
