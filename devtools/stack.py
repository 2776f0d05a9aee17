"""Start every orderbot service under honcho, wait until each is healthy, report, stop cleanly.

`make run` calls ``main()``; the end-to-end tests use ``Stack`` to run the same processes on free ports.
"""

from __future__ import annotations

import collections
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOG_TAIL_LINES = 30
_HONCHO_LINE = re.compile(r"^\S+ (?P<name>[\w-]+)(?:\.\d+)?\s+\| (?P<text>.*)$")
_STOPPED = re.compile(r"^(?P<name>[\w-]+)\.\d+ stopped \(rc=(?P<rc>-?\d+)\)")


@dataclass(frozen=True)
class Service:
    name: str
    title: str
    host_variable: str
    port_variable: str
    default_port: int
    health_path: str

    def port(self, env: dict[str, str]) -> int:
        return int(env.get(self.port_variable, self.default_port))

    def host(self, env: dict[str, str]) -> str:
        return env.get(self.host_variable, "127.0.0.1")

    def url(self, env: dict[str, str]) -> str:
        return f"http://{self.host(env)}:{self.port(env)}"


SERVICES = (
    Service("orders", "order service", "ORDERS_HOST", "ORDERS_PORT", 8080, "/health"),
    Service("actions", "action server", "ACTIONS_HOST", "ACTIONS_PORT", 5055, "/health"),
    Service("rasa", "Rasa server", "RASA_HOST", "RASA_PORT", 5005, "/"),
    Service("llm", "LLM server", "LLM_HOST", "LLM_PORT", 8000, "/health"),
)
ORDERS, ACTIONS, RASA, LLM = SERVICES


class StackError(RuntimeError):
    """The stack could not start; the message says which service and why."""


def stack_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every service: ports, the URLs they use to reach each other, file locations."""
    env = dict(os.environ if base is None else base)
    for service in SERVICES:
        env.setdefault(service.host_variable, "127.0.0.1")
        env.setdefault(service.port_variable, str(service.default_port))
    var_dir = Path(env.setdefault("ORDERBOT_VAR_DIR", str(ROOT / "var")))
    env.setdefault("ORDER_SERVICE_URL", ORDERS.url(env))
    env.setdefault("ACTION_ENDPOINT_URL", f"{ACTIONS.url(env)}/webhook")
    env.setdefault("LLM_BASE_URL", f"{LLM.url(env)}/v1")
    env.setdefault("LLM_MODEL_PATH", str(ROOT / "models" / "llm"))
    env.setdefault("RASA_PUBLIC_URL", RASA.url(env))
    env.setdefault("RASA_TRACKER_DB", str(var_dir / "rasa_tracker.db"))
    env.setdefault("RASA_MODEL", str(ROOT / "models" / "orderbot.tar.gz"))
    # The action server's credential at the order service (handoff tickets, staff directory look-ups):
    # a fresh random one per start unless the operator sets it.
    env.setdefault("ORDERBOT_SERVICE_TOKEN", secrets.token_urlsafe(32))
    # Rasa's HTTP API (the order service resumes a conversation when its handoff ticket closes):
    # never without a token, which is random per start unless set.
    env.setdefault("RASA_URL", RASA.url(env))
    env.setdefault("RASA_AUTH_TOKEN", secrets.token_hex(32))  # hex: never starts with "-" like an option
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers do: a port whose last connections linger in TIME_WAIT is free to them.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def check_ports(env: dict[str, str]) -> None:
    for service in SERVICES:
        host, port = service.host(env), service.port(env)
        if not port_is_free(host, port):
            raise StackError(
                f"port {port} ({service.title}) is already in use: stop what uses it, or choose another "
                f"port with {service.port_variable}, e.g. `{service.port_variable}={port + 1} make run`."
            )


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_healthy(url: str, timeout_s: float, process: subprocess.Popen | None = None) -> None:
    """Return once ``url`` answers 200; raise StackError on timeout or when ``process`` exits first."""
    deadline = time.monotonic() + timeout_s
    while not healthy(url):
        if process is not None and process.poll() is not None:
            raise StackError(f"the process serving {url} exited with code {process.returncode}")
        if time.monotonic() > deadline:
            raise StackError(f"{url} was not healthy after {timeout_s:.0f} s")
        time.sleep(0.2)


class Stack:
    """The services of the Procfile under one honcho process."""

    def __init__(self, env: dict[str, str], echo: bool = False) -> None:
        self.env = env
        self.echo = echo
        self.log_dir = Path(env["ORDERBOT_VAR_DIR"]) / "log"
        self.tails: dict[str, collections.deque[str]] = {
            s.name: collections.deque(maxlen=LOG_TAIL_LINES) for s in SERVICES
        }
        self.stopped: list[tuple[str, int]] = []
        self.process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def start(self, timeout_s: float = 300.0) -> None:
        """Start all services and return once each answers its health check; raise StackError if not."""
        check_ports(self.env)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            # -e /dev/null: honcho must not apply .env over what this environment already settled.
            [str(ROOT / ".venv" / "bin" / "honcho"), "start", "-f", str(ROOT / "Procfile"), "-d", str(ROOT)]
            + ["-e", os.devnull],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,  # our own process group: Ctrl-C reaches honcho only through stop()
        )
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()
        pending = {s.name: s for s in SERVICES}
        deadline = time.monotonic() + timeout_s
        while pending:
            if self.process.poll() is not None or self.stopped:
                self.stop()
                name = self.stopped[0][0] if self.stopped else next(iter(pending))
                raise StackError(self.failure_report(name, "stopped while starting"))
            if time.monotonic() > deadline:
                name = next(iter(pending))
                self.stop()
                raise StackError(self.failure_report(name, f"was not healthy after {timeout_s:.0f} s"))
            for name, service in list(pending.items()):
                if healthy(service.url(self.env) + service.health_path):
                    del pending[name]
            time.sleep(0.5)

    def failure_report(self, name: str, what: str) -> str:
        service = next(s for s in SERVICES if s.name == name)
        tail = "\n".join(f"    {line}" for line in self.tails[name]) or "    (no output)"
        return (
            f"{service.title} ({name}) {what}; the other services were stopped.\n"
            f"  last lines of {self.log_dir / (name + '.log')}:\n{tail}"
        )

    def _read_output(self) -> None:
        assert self.process and self.process.stdout
        logs = {s.name: (self.log_dir / f"{s.name}.log").open("a", encoding="utf-8") for s in SERVICES}
        try:
            for line in self.process.stdout:
                line = line.rstrip("\n")
                if self.echo:
                    print(line, flush=True)
                match = _HONCHO_LINE.match(line)
                if not match:
                    continue
                name, text = match["name"], match["text"]
                if name == "system":
                    stopped = _STOPPED.match(text)
                    if stopped and stopped["name"] in logs and not self.stopped:
                        self.stopped.append((stopped["name"], int(stopped["rc"])))
                    continue
                if name in logs:
                    logs[name].write(text + "\n")
                    logs[name].flush()
                    self.tails[name].append(text)
        finally:
            for handle in logs.values():
                handle.close()

    def wait(self) -> int:
        assert self.process
        return self.process.wait()

    def stop(self, timeout_s: float = 20.0) -> None:
        """Stop every service: SIGTERM to honcho (which stops its children), SIGKILL if they linger."""
        if self.process is None or self.process.poll() is not None and self._reader is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout_s)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        if self._reader:
            self._reader.join(5)
            self._reader = None

    def urls(self) -> dict[str, str]:
        return {s.name: s.url(self.env) for s in SERVICES}


def _exit_on_signal(signum, _frame) -> None:
    raise SystemExit(128 + signum)  # unwinds through main's finally, which stops the services


def settings_file(path: Path = ROOT / ".env") -> dict[str, str]:
    """The settings of ``.env`` (honcho's format), for `make run` to read itself: its port checks and
    health checks must see the ports the services get. The shell's environment wins over the file."""
    if not path.is_file():
        return {}
    from honcho.environ import parse

    return parse(path.read_text(encoding="utf-8"))


def main() -> int:
    env = stack_environment({**settings_file(), **os.environ})
    stack = Stack(env, echo=env.get("ORDERBOT_RUN_VERBOSE") == "1")
    # The services run in their own process group, so they must be stopped however this process ends:
    # Ctrl-C, a closed terminal, `kill`, or a broken pipe when the output was piped.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)
    # A shell starts background jobs with SIGINT ignored, and Python keeps an inherited "ignore":
    # Ctrl-C (or kill -INT) must stop the services all the same.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return _run(stack, env)
    except KeyboardInterrupt:
        return 130
    finally:
        stack.stop()


def _run(stack: Stack, env: dict[str, str]) -> int:
    print(
        "starting orderbot (logs in var/log/; the first start loads TensorFlow and takes a while) ...",
        flush=True,
    )
    started = time.monotonic()
    try:
        stack.start(float(env.get("ORDERBOT_START_TIMEOUT", "300")))
    except StackError as problem:
        print(f"make run: {problem}", file=sys.stderr)
        return 1
    try:  # from here on Ctrl-C is a normal stop, also while the banner is printed
        print(f"orderbot is up after {time.monotonic() - started:.0f} s:")
        for service in SERVICES:
            health = service.health_path
            print(f"  {service.name:<8} {service.url(env):<24} {service.title}, health: {health}")
        print(f"  chat over REST: POST {RASA.url(env)}/webhooks/rest/webhook; socket.io at /socket.io")
        print(f"  customer chat page: {ORDERS.url(env)}/   staff console: {ORDERS.url(env)}/console")
        print("press Ctrl-C to stop", flush=True)
        stack.wait()
    except KeyboardInterrupt:
        print("\nstopping orderbot ...", flush=True)
        return 0
    stack.stop()
    name = stack.stopped[0][0] if stack.stopped else "orders"
    print(f"make run: {stack.failure_report(name, 'stopped')}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
