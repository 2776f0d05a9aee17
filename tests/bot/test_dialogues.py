"""Rasa's own checks of the assistant: data validation and the test conversations of tests/stories.

They run the trained model of `make test` (models/orderbot.tar.gz) with the Rasa CLI of this
environment, as CI would by hand.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "orderbot.tar.gz"
RASA = [sys.executable, "-m", "rasa"]
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def rasa(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([*RASA, *args], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=timeout)


def test_training_data_is_valid():
    result = rasa(
        "data",
        "validate",
        "--data",
        "data/nlu",
        "data/rules",
        "--domain",
        "domain.yml",
        "--config",
        "config.yml",
        "--fail-on-warnings",
        timeout=300,
    )
    problems = [
        line
        for line in result.stderr.splitlines() + result.stdout.splitlines()
        if "UserWarning" in line and "is not used in any story or rule" not in line
    ]
    # Responses that custom actions or forms send are invisible to the validator: the only warnings
    # allowed are about those, so everything else it can check must be clean.
    assert not problems, "\n".join(problems)
    assert "No story structure conflicts found" in result.stdout + result.stderr


def empty_endpoints(directory: Path) -> Path:
    endpoints = directory / "endpoints.yml"
    endpoints.write_text("# in-memory tracker store, no action server: rasa test core needs neither\n")
    return endpoints


@pytest.mark.skipif(not MODEL.is_file(), reason="no trained model: run through `make test`")
def test_every_test_conversation_is_predicted(tmp_path):
    result = rasa(
        "test",
        "core",
        "--model",
        str(MODEL),
        "--stories",
        "tests/stories",
        "--fail-on-prediction-errors",
        "--out",
        str(tmp_path),
        # Without its own endpoints, Rasa reads ./endpoints.yml, whose unset ${RASA_TRACKER_DB}
        # would become a SQLite file of that literal name in the checkout.
        "--endpoints",
        str(empty_endpoints(tmp_path)),
    )
    output = result.stdout + result.stderr
    conversations = re.search(r"Correct:\s+(\d+) / (\d+)", output)
    assert conversations, output[-2000:]
    correct, total = map(int, conversations.groups())
    assert total >= 40
    assert result.returncode == 0 and correct == total, (tmp_path / "failed_test_stories.yml").read_text()
