"""The whole stack (order service, action server, Rasa) on free loopback ports, as `make run` starts it."""

from __future__ import annotations

import pytest

from devtools.stack import ROOT, Stack, stack_environment
from tests.conftest import free_port


def _start_stack(tmp_path_factory, **settings: str):
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
            # Sample orders have fixed due dates: no settlement run may change them under the tests.
            "ORDERBOT_SCHEDULER": "off",
            **settings,
        }
    )
    running = Stack(env)
    running.start(timeout_s=240)
    return running


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    # Templates word for word, so that these tests check the dialogue itself; `phrased_stack` runs
    # whole conversations through the default model.
    running = _start_stack(tmp_path_factory, LLM_PHRASING="off")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def phrased_stack(tmp_path_factory):
    """The stack as `make run` starts it, replies phrased by the default model (models/llm). The LLM
    server shares two cores with Rasa and the tests here: a timeout that leaves the model time to answer,
    so that its wording, not the clock, decides what is sent."""
    if not (ROOT / "models" / "llm" / "config.json").is_file():
        pytest.fail("no default LLM at models/llm: run the tests through `make test`")
    running = _start_stack(tmp_path_factory, LLM_PHRASING="on", LLM_TIMEOUT="20")
    yield running
    running.stop()
