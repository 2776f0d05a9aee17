import socket
import subprocess
import sys

import pytest

from devtools.stack import ROOT, SERVICES, StackError, check_ports, stack_environment


def test_defaults_wire_the_services_together():
    env = stack_environment({"ORDERS_PORT": "9001"})
    assert env["RASA_PORT"] == "5005" and env["ACTIONS_PORT"] == "5055"
    assert env["ORDER_SERVICE_URL"] == "http://127.0.0.1:9001"
    assert env["ACTION_ENDPOINT_URL"] == "http://127.0.0.1:5055/webhook"


def test_a_taken_port_is_named_with_the_variable_that_moves_it(unused_port):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", unused_port))
        taken.listen()
        env = stack_environment({"ACTIONS_PORT": str(unused_port), "RASA_PORT": "0", "ORDERS_PORT": "0"})
        with pytest.raises(StackError, match=f"port {unused_port} \\(action server\\).*ACTIONS_PORT"):
            check_ports(env)


def test_make_run_refuses_a_taken_port_without_starting_anything(unused_port, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", unused_port))
        taken.listen()
        env = stack_environment({"ORDERS_PORT": str(unused_port), "ORDERBOT_VAR_DIR": str(tmp_path)})
        result = subprocess.run(
            [sys.executable, "-m", "devtools.stack"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"port {unused_port} (order service) is already in use" in result.stderr
    assert "ORDERS_PORT" in result.stderr


def test_every_service_of_the_procfile_is_supervised():
    names = {line.split(":", 1)[0] for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()}
    assert names == {service.name for service in SERVICES}


def test_a_service_that_fails_to_start_stops_the_others_and_shows_its_log(tmp_path):
    from devtools.stack import Stack
    from tests.conftest import free_port

    env = stack_environment(
        {
            "PATH": __import__("os").environ["PATH"],
            "ORDERBOT_VAR_DIR": str(tmp_path),
            "ORDERBOT_DATABASE_URL": "nosuchdialect://nowhere/db",
            "ORDERS_PORT": str(free_port()),
            "ACTIONS_PORT": str(free_port()),
            "RASA_PORT": str(free_port()),
            "LLM_PORT": str(free_port()),  # never 8000: `make run` may be up beside the tests
        }
    )
    stack = Stack(env)
    with pytest.raises(StackError) as failure:
        stack.start(timeout_s=120)
    message = str(failure.value)
    assert message.startswith(
        "order service (orders) stopped while starting; the other services were stopped."
    )
    assert "nosuchdialect" in message  # the last log lines name the cause
    assert stack.process.poll() is not None


@pytest.mark.parametrize("stop_signal", ["SIGTERM", "SIGINT"])
def test_stopping_make_run_stops_every_service(tmp_path, stop_signal):
    import signal
    import time

    from tests.conftest import free_port

    ports = {
        "ORDERS_PORT": free_port(),
        "ACTIONS_PORT": free_port(),
        "RASA_PORT": free_port(),
        "LLM_PORT": free_port(),
    }
    env = stack_environment(
        {
            "PATH": __import__("os").environ["PATH"],
            "ORDERBOT_VAR_DIR": str(tmp_path),
            **{k: str(v) for k, v in ports.items()},
        }
    )
    launcher = subprocess.Popen(
        [sys.executable, "-m", "devtools.stack"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    for line in launcher.stdout:
        lines.append(line)
        if "press Ctrl-C to stop" in line or launcher.poll() is not None:
            break
    assert any("orderbot is up" in line for line in lines), "".join(lines)
    launcher.send_signal(getattr(signal, stop_signal))
    assert launcher.wait(60) in (0, 128 + signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(
        __import__("devtools.stack").stack.port_is_free("127.0.0.1", port) for port in ports.values()
    ):
        time.sleep(0.5)
    for name, port in ports.items():
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"{name} {port} still answers"


def test_make_run_reads_dot_env_itself_and_the_shell_wins(tmp_path):
    from devtools.stack import settings_file

    dot_env = tmp_path / ".env"
    dot_env.write_text("# a comment\nORDERS_PORT=9099\nSLACK_BOT_TOKEN='xoxb-from-file'\n", encoding="utf-8")
    settings = settings_file(dot_env)
    assert settings == {"ORDERS_PORT": "9099", "SLACK_BOT_TOKEN": "xoxb-from-file"}
    env = stack_environment({**settings, "ORDERS_PORT": "9100"})  # set in the shell too
    assert env["ORDERS_PORT"] == "9100" and env["ORDER_SERVICE_URL"] == "http://127.0.0.1:9100"
    assert settings_file(tmp_path / "missing") == {}


def test_rasas_api_token_reaches_rasa_as_one_argument_whatever_it_looks_like(tmp_path):
    """A token that starts with "-" (an operator's, say) must not read as an option of `rasa run`."""
    procfile = (ROOT / "Procfile").read_text(encoding="utf-8")
    (rasa_line,) = [line for line in procfile.splitlines() if line.startswith("rasa:")]
    command = rasa_line.split(":", 1)[1].replace("exec ", "echo ", 1)
    result = subprocess.run(
        ["bash", "-c", command],
        env={"RASA_AUTH_TOKEN": "-starts-like-an-option", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--auth-token=-starts-like-an-option" in result.stdout.split()
    empty = subprocess.run(["bash", "-c", command], env={"PATH": "/usr/bin:/bin"}, capture_output=True)
    assert empty.returncode != 0  # never an open API
    assert len(stack_environment({})["RASA_AUTH_TOKEN"]) == 64


def test_one_process_stops_and_starts_again_on_its_port_while_the_others_run_on(tmp_path):
    """Stack.stop_process/start_process: what a test needs to take one service away and bring it back
    (a message sent while Rasa is down, delivered after it returns). Two order-service processes here,
    never Rasa: the second runs on while the first is stopped."""
    import os
    import threading

    from devtools.stack import ORDERS, Process, Stack, healthy, port_is_free
    from tests.conftest import free_port

    first, second = free_port(), free_port()
    env = stack_environment(
        {
            "PATH": os.environ["PATH"],
            "ORDERBOT_VAR_DIR": str(tmp_path),
            "ORDERS_PORT": str(first),
            "ORDERS_2_PORT": str(second),
            "ORDERBOT_SCHEDULER": "off",
        }
    )
    processes = [
        Process("orders-1", ORDERS, "ORDERS_PORT"),
        Process("orders-2", ORDERS, "ORDERS_2_PORT", {"ORDERS_PORT": str(second)}, after="orders-1"),
    ]
    stack = Stack(env, processes=processes)
    one, two = (process.health_url(env) for process in processes)
    log = tmp_path / "log" / "orders-1.log"
    try:
        stack.start(timeout_s=120)
        assert healthy(one) and healthy(two)
        with pytest.raises(StackError, match="orders-1 is still running"):
            stack.start_process("orders-1")

        stack.stop_process("orders-1")
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", first)) != 0, "orders-1 still answers"
        assert healthy(two)  # the other one runs on
        assert stack.stopped == [] and not stack._failed("orders-1")  # a stop on purpose, no failure
        logged = log.read_text(encoding="utf-8")
        assert logged

        # Something still holds the port for a moment (a socket in its last state, say): start_process
        # waits until it is free, then starts the process on the same port.
        holder = socket.socket()
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", first))
        holder.listen()
        threading.Timer(1.5, holder.close).start()
        stack.start_process("orders-1", timeout_s=120)
        assert healthy(one) and healthy(two)
        again = log.read_text(encoding="utf-8")
        assert again.startswith(logged) and len(again) > len(logged)  # the log goes on
        assert stack.stopped == []

        stack.stop_process("orders-2")  # stopping twice, or one whose turn is `after`, is fine too
        stack.stop_process("orders-2")
        stack.start_process("orders-2", timeout_s=120)
        assert healthy(two)
    finally:
        stack.stop()
    assert port_is_free("127.0.0.1", first) and port_is_free("127.0.0.1", second)
