"""The whole stack (order service, action server, Rasa) on free loopback ports, as `make run` starts it."""

from __future__ import annotations

import pytest

from devtools.stack import ROOT, Stack, stack_environment
from tests.conftest import free_port


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    model = ROOT / "models" / "orderbot.tar.gz"
    if not model.is_file():
        pytest.fail("no trained model at models/orderbot.tar.gz: run the tests through `make test`")
    var_dir = tmp_path_factory.mktemp("stack")
    env = stack_environment(
        {
            "PATH": __import__("os").environ["PATH"],
            "ORDERBOT_VAR_DIR": str(var_dir),
            "ORDERS_PORT": str(free_port()),
            "ACTIONS_PORT": str(free_port()),
            "RASA_PORT": str(free_port()),
            "LLM_PORT": str(free_port()),
            # Templates word for word, so that these tests check the dialogue itself; the phrasing path
            # with the default model has its own test (tests/actions/test_phrasing_live.py).
            "LLM_PHRASING": "off",
            # Sample orders have fixed due dates: no settlement run may change them under the tests.
            "ORDERBOT_SCHEDULER": "off",
        }
    )
    running = Stack(env)
    running.start(timeout_s=240)
    yield running
    running.stop()
