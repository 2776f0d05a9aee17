"""Start every orderbot service under honcho, wait until each is healthy, report, stop cleanly.

`make run` calls ``main()``; the end-to-end tests use ``Stack`` to run the same processes on free ports.

Two profiles (``ORDERBOT_PROFILE``):

- ``dev`` (the default, `make run`): one process per Procfile entry, SQLite files under var/, Rasa with
  its in-memory lock store and no event broker.
- ``prod`` (`make run-prod`): the production layout on this machine against a real PostgreSQL, Redis
  and RabbitMQ: two Rasa replicas sharing their tracker store (PostgreSQL) and lock store (Redis),
  publishing to RabbitMQ; two order-service processes on one PostgreSQL database whose hubs fan out
  through Redis; one action server and one LLM server. The databases are created when missing.

Each process runs under its own honcho (the same Procfile entry, its own settings), so one of them can
be stopped (``Stack.stop_process``, SIGTERM) or killed (``Stack.kill``, SIGKILL, as a crash) and started
again alone (``Stack.start_process``); `make run` still stops everything when any one of them stops.
"""

from __future__ import annotations

import collections
import contextlib
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
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
LOG_TAIL_LINES = 30
_HONCHO_LINE = re.compile(r"^\S+ (?P<name>[\w-]+)(?:\.\d+)?\s+\| (?P<text>.*)$")
_STOPPED = re.compile(r"^(?P<name>[\w-]+)\.\d+ stopped \(rc=(?P<rc>-?\d+)\)")
_STARTED = re.compile(r"^(?P<name>[\w-]+)\.\d+ started \(pid=(?P<pid>\d+)\)")
PROFILES = ("dev", "prod")
# The prod profile's servers when nothing else is set: the local PostgreSQL (trust auth as `postgres`),
# Redis and RabbitMQ (guest) of a laptop.
PROD_DEFAULTS = {
    "ORDERBOT_DATABASE_URL": "postgresql+psycopg2://postgres@127.0.0.1:5432/orderbot",
    "ORDERBOT_REDIS_URL": "redis://127.0.0.1:6379/0",
    "RASA_TRACKER_URL": "postgresql://postgres@127.0.0.1:5432/rasa",
    "RASA_LOCK_URL": "redis://127.0.0.1:6379/1",
    "RASA_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672/",
    # The order services consume Rasa's events from the same broker (conversation analytics).
    "ORDERBOT_RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:5672/%2F",
}


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


@dataclass
class Process:
    """One running program: the Procfile entry of ``service`` with settings of its own (``overrides``,
    its port among them). ``port_variable`` is the variable that moves its port; ``after`` names the
    process that must be healthy before this one starts."""

    name: str
    service: Service
    port_variable: str
    overrides: dict[str, str] = field(default_factory=dict)
    after: str | None = None

    @property
    def title(self) -> str:
        replica = self.name.rpartition("-")[2]
        return f"{self.service.title} {replica}" if replica.isdigit() else self.service.title

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        return {**env, **self.overrides}

    def host(self, env: dict[str, str]) -> str:
        return self.service.host(self.environment(env))

    def port(self, env: dict[str, str]) -> int:
        return self.service.port(self.environment(env))

    def url(self, env: dict[str, str]) -> str:
        return self.service.url(self.environment(env))

    def health_url(self, env: dict[str, str]) -> str:
        return self.url(env) + self.service.health_path


class StackError(RuntimeError):
    """The stack could not start; the message says which service and why."""


def profile(env: dict[str, str]) -> str:
    name = env.get("ORDERBOT_PROFILE") or "dev"
    if name not in PROFILES:
        raise StackError(f"ORDERBOT_PROFILE={name!r}: choose one of {', '.join(PROFILES)}")
    return name


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
    if profile(env) == "prod":
        _production_environment(env)
    return env


def _production_environment(env: dict[str, str]) -> None:
    """The prod profile's additions: the second replicas' ports and the shared servers."""
    env.setdefault("RASA_2_PORT", str(RASA.port(env) + 1))
    env.setdefault("ORDERS_2_PORT", str(ORDERS.port(env) + 1))
    for variable, default in PROD_DEFAULTS.items():
        # A URL wins over the parts in bot/endpoints.py: no default URL where the parts are set.
        parts = variable.replace("_URL", "_HOST")
        if not env.get(variable) and not (variable.startswith("RASA_") and env.get(parts)):
            env[variable] = default


def processes_for(env: dict[str, str]) -> list[Process]:
    """What runs in this profile: in dev one process per Procfile entry, in prod the layout above."""
    if profile(env) == "dev":
        return [Process(s.name, s, s.port_variable) for s in SERVICES]
    rasa_1, rasa_2 = RASA.url(env), RASA.url({**env, "RASA_PORT": env["RASA_2_PORT"]})

    def paired_with(rasa: str) -> dict[str, str]:
        # Each order-service process sends its pages (and its handoff resumptions) to its own replica,
        # unless the operator pointed them elsewhere (a proxy in front of both).
        return {variable: rasa for variable in ("RASA_PUBLIC_URL", "RASA_URL") if env.get(variable) == rasa_1}

    return [
        Process("orders-1", ORDERS, "ORDERS_PORT"),  # with replica 1, the default RASA_PUBLIC_URL/RASA_URL
        # After the first is up: its start-up runs the migrations and loads the sample, once.
        # Scheduled jobs (the settlement run) in one process only.
        Process(
            "orders-2",
            ORDERS,
            "ORDERS_2_PORT",
            {"ORDERS_PORT": env["ORDERS_2_PORT"], "ORDERBOT_SCHEDULER": "off", **paired_with(rasa_2)},
            after="orders-1",
        ),
        Process("actions", ACTIONS, "ACTIONS_PORT"),
        Process("rasa-1", RASA, "RASA_PORT"),
        Process("rasa-2", RASA, "RASA_2_PORT", {"RASA_PORT": env["RASA_2_PORT"]}),
        Process("llm", LLM, "LLM_PORT"),
    ]


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers do: a port whose last connections linger in TIME_WAIT is free to them.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def check_ports(env: dict[str, str], processes: list[Process] | None = None) -> None:
    seen: dict[tuple[str, int], Process] = {}
    for process in processes if processes is not None else processes_for(env):
        host, port = process.host(env), process.port(env)
        variable = process.port_variable
        if (host, port) in seen:
            raise StackError(
                f"port {port} is set for both {seen[host, port].title} and {process.title}: "
                f"choose another with {variable}."
            )
        seen[host, port] = process
        if not port_is_free(host, port):
            raise StackError(
                f"port {port} ({process.title}) is already in use: stop what uses it, or choose another "
                f"port with {variable}, e.g. `{variable}={port + 1} make run`."
            )


def redact(url: str) -> str:
    """``url`` without its password, for the terminal."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


# --- the prod profile's servers ------------------------------------------------------------------------

HOW_TO_START = (
    "start it (docs/production.md, 'The production profile on one machine', says how) "
    "or point {variable} at one"
)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=3):
            return True
    except OSError:
        return False


def backing_servers(env: dict[str, str]) -> list[tuple[str, str, str, int]]:
    """(what, variable, host, port) of each server the prod profile's settings name."""
    found = []
    for what, variable, default_port in (
        ("PostgreSQL (orders)", "ORDERBOT_DATABASE_URL", 5432),
        ("PostgreSQL (Rasa's tracker store)", "RASA_TRACKER_URL", 5432),
        ("Redis (hub fan-out)", "ORDERBOT_REDIS_URL", 6379),
        ("Redis (Rasa's lock store)", "RASA_LOCK_URL", 6379),
        ("RabbitMQ (Rasa's event broker)", "RASA_BROKER_URL", 5672),
    ):
        url = env.get(variable)
        if url and "://" in url and not url.startswith("sqlite"):
            parts = urlsplit(url)
            found.append((what, variable, parts.hostname or "127.0.0.1", parts.port or default_port))
    for what, prefix, default_port in (
        ("PostgreSQL (Rasa's tracker store)", "RASA_TRACKER", 5432),
        ("Redis (Rasa's lock store)", "RASA_LOCK", 6379),
        ("RabbitMQ (Rasa's event broker)", "RASA_BROKER", 5672),
    ):
        host = env.get(f"{prefix}_HOST")
        if host and not env.get(f"{prefix}_URL"):
            found.append((what, f"{prefix}_HOST", host, int(env.get(f"{prefix}_PORT") or default_port)))
    return found


def check_backing_servers(env: dict[str, str]) -> None:
    """Raise StackError naming the first server of the prod profile that does not answer."""
    for what, variable, host, port in backing_servers(env):
        if not _reachable(host, port):
            raise StackError(
                f"{what} at {host}:{port} ({variable}) is not reachable: "
                + HOW_TO_START.format(variable=variable)
            )


def ensure_databases(env: dict[str, str]) -> list[str]:
    """Create the PostgreSQL databases of ORDERBOT_DATABASE_URL and RASA_TRACKER_URL when missing
    (their tables are the services' own business: the order service migrates, Rasa creates its
    table). Returns the databases created."""
    import sqlalchemy as sa

    created = []
    for variable in ("ORDERBOT_DATABASE_URL", "RASA_TRACKER_URL"):
        raw = env.get(variable)
        if not raw or not raw.startswith(("postgresql", "postgres://")):
            continue
        url = sa.make_url(raw.replace("postgres://", "postgresql://", 1))
        name = url.database
        if not name:
            raise StackError(f"{variable} names no database: {redact(raw)}")
        try:
            # psycopg2 whatever driver the URL names (requirements/app.txt has it; Rasa's SQLAlchemy too).
            maintenance = url.set(drivername="postgresql+psycopg2", database="postgres")
            admin = sa.create_engine(maintenance, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                exists = connection.execute(
                    sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
                ).first()
                if not exists:
                    quoted = connection.dialect.identifier_preparer.quote(name)
                    try:
                        connection.execute(sa.text(f"CREATE DATABASE {quoted}"))
                        created.append(name)
                    except sa.exc.ProgrammingError as problem:  # created meanwhile by another start
                        if "already exists" not in str(problem):
                            raise
            admin.dispose()
        except sa.exc.SQLAlchemyError as problem:
            reason = str(getattr(problem, "orig", problem)).strip().splitlines()[0]
            raise StackError(
                f"could not prepare the database {name!r} of {variable} ({redact(raw)}): {reason}"
            ) from problem
    return created


def prepare_backing_servers(env: dict[str, str]) -> list[str]:
    check_backing_servers(env)
    return ensure_databases(env)


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


@dataclass
class _Run:
    """One honcho running one process."""

    honcho: subprocess.Popen[str]
    reader: threading.Thread | None = None
    child_pid: int | None = None  # the program itself, leader of its own process group
    returncode: int | None = None  # as honcho reported it ("stopped (rc=...)")
    killed: bool = False  # on purpose, by kill() or stop()


class Stack:
    """The services of the Procfile, each process under its own honcho."""

    def __init__(
        self, env: dict[str, str], echo: bool = False, processes: list[Process] | None = None
    ) -> None:
        self.env = env
        self.echo = echo
        self.processes = {p.name: p for p in (processes if processes is not None else processes_for(env))}
        self.log_dir = Path(env["ORDERBOT_VAR_DIR"]) / "log"
        self.tails: dict[str, collections.deque[str]] = {
            name: collections.deque(maxlen=LOG_TAIL_LINES) for name in self.processes
        }
        self.stopped: list[tuple[str, int]] = []
        self.runs: dict[str, _Run] = {}

    @property
    def process(self) -> subprocess.Popen[str] | None:
        """The honcho of the first process started (one process per honcho now)."""
        return next(iter(self.runs.values())).honcho if self.runs else None

    def start(self, timeout_s: float = 300.0) -> None:
        """Start all services and return once each answers its health check; raise StackError if not."""
        check_ports(self.env, list(self.processes.values()))
        if profile(self.env) == "prod":
            prepare_backing_servers(self.env)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._wait_ready(list(self.processes), timeout_s, "stopped while starting")

    def _wait_ready(self, names: list[str], timeout_s: float, what: str) -> None:
        pending = {name: self.processes[name] for name in names}
        deadline = time.monotonic() + timeout_s
        while pending:
            for name, process in pending.items():
                if name not in self.runs and (process.after is None or process.after not in pending):
                    self._launch(process)
            failed = next((name for name in self.runs if self._failed(name)), None)
            if failed:
                self.stop()
                raise StackError(self.failure_report(failed, what))
            if time.monotonic() > deadline:
                name = next(iter(pending))
                self.stop()
                raise StackError(self.failure_report(name, f"was not healthy after {timeout_s:.0f} s"))
            for name, process in list(pending.items()):
                if name in self.runs and healthy(process.health_url(self.env)):
                    del pending[name]
            time.sleep(0.5)

    def _failed(self, name: str) -> bool:
        run = self.runs[name]
        return not run.killed and (run.returncode is not None or run.honcho.poll() is not None)

    def _launch(self, process: Process) -> None:
        honcho = subprocess.Popen(
            # -e /dev/null: honcho must not apply .env over what this environment already settled.
            [str(ROOT / ".venv" / "bin" / "honcho"), "start", "-f", str(ROOT / "Procfile"), "-d", str(ROOT)]
            + ["-e", os.devnull, process.service.name],
            cwd=ROOT,
            env=process.environment(self.env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,  # our own process group: Ctrl-C reaches honcho only through stop()
        )
        run = _Run(honcho)
        run.reader = threading.Thread(target=self._read_output, args=(process.name, run), daemon=True)
        self.runs[process.name] = run
        run.reader.start()

    def failure_report(self, name: str, what: str) -> str:
        process = self.processes[name]
        tail = "\n".join(f"    {line}" for line in self.tails[name]) or "    (no output)"
        return (
            f"{process.title} ({name}) {what}; the other services were stopped.\n"
            f"  last lines of {self.log_dir / (name + '.log')}:\n{tail}"
        )

    def _read_output(self, name: str, run: _Run) -> None:
        assert run.honcho.stdout
        with (self.log_dir / f"{name}.log").open("a", encoding="utf-8") as log:
            for line in run.honcho.stdout:
                line = line.rstrip("\n")
                match = _HONCHO_LINE.match(line)
                if not match:
                    continue
                text = match["text"]
                if match["name"] == "system":
                    started, stopped = _STARTED.match(text), _STOPPED.match(text)
                    if started:
                        run.child_pid = int(started["pid"])
                    elif stopped and run.returncode is None:
                        run.returncode = int(stopped["rc"])
                        if not run.killed:
                            self.stopped.append((name, run.returncode))
                    continue
                if self.echo:
                    print(f"{name:<8} | {text}", flush=True)
                log.write(text + "\n")
                log.flush()
                self.tails[name].append(text)

    def wait(self) -> int:
        """Block until a process stops that was not stopped on purpose; return its code."""
        while True:
            for name, run in self.runs.items():
                if self._failed(name):
                    run.honcho.wait()
                    if not any(stopped == name for stopped, _ in self.stopped):
                        self.stopped.append((name, run.honcho.returncode))
                    return run.honcho.returncode
            time.sleep(0.5)

    def stop(self, timeout_s: float = 20.0) -> None:
        """Stop every service: SIGTERM to each honcho (which stops its process), SIGKILL if they linger."""
        alive = [run for run in self.runs.values() if run.honcho.poll() is None or run.reader is not None]
        for run in alive:
            run.killed = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(run.honcho.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for run in alive:
            try:
                run.honcho.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._kill_run(run)
            self._join(run)

    def _kill_run(self, run: _Run) -> None:
        for group in (run.child_pid, run.honcho.pid):
            if group is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(group, signal.SIGKILL)
        run.honcho.wait()

    @staticmethod
    def _join(run: _Run) -> None:
        if run.reader:
            run.reader.join(5)
            run.reader = None

    def kill(self, name: str) -> None:
        """SIGKILL one process (and what it started), as a crash would end it; the others run on."""
        run = self.runs[name]
        run.killed = True
        deadline = time.monotonic() + 30
        while run.child_pid is None and run.honcho.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if run.child_pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(run.child_pid, signal.SIGKILL)
        try:
            run.honcho.wait(20)  # honcho exits when its one process is gone
        except subprocess.TimeoutExpired:
            self._kill_run(run)
        self._join(run)

    def restart(self, name: str, timeout_s: float = 120.0) -> None:
        """Start one process again (after kill()) and return once it is healthy: ``start_process``."""
        self.start_process(name, timeout_s)

    def stop_process(self, name: str, timeout_s: float = 30.0) -> None:
        """Stop one process as an operator would (SIGTERM to its honcho, which stops the program) and
        return once it has exited and its port is free; the others run on, and this stop is no failure
        (neither ``wait()`` nor ``stopped`` reports it). ``start_process`` starts it again."""
        run = self.runs.get(name)
        if run is None:
            raise StackError(f"{name} is not running")
        run.killed = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(run.honcho.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        try:
            run.honcho.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self._kill_run(run)
        self._join(run)
        process = self.processes[name]
        if not self._wait_port_free(process, max(1.0, deadline - time.monotonic())):
            # Something of it lingers (a worker honcho did not reach): as stop() does, SIGKILL.
            self._kill_run(run)
            if not self._wait_port_free(process, 10.0):
                raise StackError(
                    f"{process.title} ({name}) was stopped but port {process.port(self.env)} is still in use"
                )

    def start_process(self, name: str, timeout_s: float = 120.0) -> None:
        """Start one process again (after ``stop_process`` or ``kill``) on its own port and return once it
        is healthy; its log file goes on where it stopped. Waits (within ``timeout_s``) for the port to be
        free, raises StackError if it stays taken or the process does not become healthy (which, as at
        start, stops the whole stack)."""
        run = self.runs.get(name)
        if run is not None and run.honcho.poll() is None:
            raise StackError(f"{name} is still running")
        process = self.processes[name]
        started = time.monotonic()
        self._wait_port_free(process, min(timeout_s, 30.0))
        self.runs.pop(name, None)
        check_ports(self.env, [process])  # the usual message if it is still taken
        self._wait_ready(
            [name], max(1.0, timeout_s - (time.monotonic() - started)), "stopped while restarting"
        )

    def _wait_port_free(self, process: Process, timeout_s: float) -> bool:
        host, port = process.host(self.env), process.port(self.env)
        deadline = time.monotonic() + timeout_s
        while not port_is_free(host, port):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def urls(self) -> dict[str, str]:
        """Each process's URL, and each service's under its own name too (in prod: its first replica)."""
        urls = {name: process.url(self.env) for name, process in self.processes.items()}
        for process in self.processes.values():
            urls.setdefault(process.service.name, process.url(self.env))
        return urls


def _shared_state(env: dict[str, str]) -> list[str]:
    """Where the prod profile keeps what its replicas share, passwords hidden."""

    def where(prefix: str) -> str:
        url = env.get(f"{prefix}_URL")
        return redact(url) if url else f"{prefix}_HOST={env.get(f'{prefix}_HOST', '')}"

    return [
        f"conversations (both Rasa replicas): {where('RASA_TRACKER')}",
        f"conversation locks: {where('RASA_LOCK')}; tracker events to {where('RASA_BROKER')}",
        f"orders (both order services): {redact(env['ORDERBOT_DATABASE_URL'])}; "
        f"hub fan-out: {redact(env['ORDERBOT_REDIS_URL'])}",
    ]


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
    try:
        env = stack_environment({**settings_file(), **os.environ})
    except StackError as problem:
        print(f"make run: {problem}", file=sys.stderr)
        return 2
    stack = Stack(env, echo=env.get("ORDERBOT_RUN_VERBOSE") == "1")
    # The services run in their own process groups, so they must be stopped however this process ends:
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
    prod = profile(env) == "prod"
    what = " (prod profile: PostgreSQL, Redis, RabbitMQ, two Rasa replicas)" if prod else ""
    print(
        f"starting orderbot{what} (logs in var/log/; the first start loads TensorFlow and takes a while) ...",
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
        for name, process in stack.processes.items():
            health = process.service.health_path
            print(f"  {name:<8} {process.url(env):<24} {process.title}, health: {health}")
        rasas = [p.url(env) for p in stack.processes.values() if p.service is RASA]
        orders = [p.url(env) for p in stack.processes.values() if p.service is ORDERS]
        for rasa in rasas:
            print(f"  chat over REST: POST {rasa}/webhooks/rest/webhook; socket.io at {rasa}/socket.io")
        for page in orders:
            print(f"  customer chat page: {page}/   staff console: {page}/console")
        if prod:
            for line in _shared_state(env):
                print(f"  {line}")
        print("press Ctrl-C to stop", flush=True)
        stack.wait()
    except KeyboardInterrupt:
        print("\nstopping orderbot ...", flush=True)
        return 0
    stack.stop()
    name = stack.stopped[0][0] if stack.stopped else next(iter(stack.processes))
    print(f"make run: {stack.failure_report(name, 'stopped')}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
