"""Queue limits, clients that hang up, and `python -m llm_server` itself."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx2 as httpx
import openai
import pytest

from llm_server.__main__ import main as llm_server_main
from tests.conftest import free_port
from tests.llm_server.conftest import MODEL_NAME, serve
from tests.llm_server.helpers import metric, wait_until

LONG = {"model": MODEL_NAME, "prompt": "where", "max_tokens": 1000, "temperature": 0, "ignore_eos": True}


def test_full_queue_answers_429_with_retry_after(model_dir):
    with serve(model_dir, max_batch=1, max_queue=1) as server:
        url = f"{server.base_url}/v1/completions"
        with httpx.stream("POST", url, json=LONG | {"stream": True}) as running:
            lines = running.iter_lines()  # (a dropped iterator would close the response)
            next(lines)  # admitted: the only batch slot is taken
            with httpx.stream("POST", url, json=LONG | {"stream": True}):
                assert wait_until(lambda: httpx.get(f"{server.base_url}/health").json()["waiting"] == 1)
                response = httpx.post(url, json=LONG)
                assert response.status_code == 429
                assert response.headers["retry-after"] == "1"
                assert response.json()["error"]["code"] == "queue_full"
                client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="unused", max_retries=0)
                with pytest.raises(openai.RateLimitError):
                    client.completions.create(model=MODEL_NAME, prompt="where")
        assert metric(server.base_url, "llm_requests_total", endpoint="/v1/completions", status="429") == 2
        # Both clients hung up: the running one and the waiting one are gone.
        assert wait_until(lambda: _load(server.base_url) == (0, 0))


def _load(base_url: str) -> tuple[int, int]:
    health = httpx.get(f"{base_url}/health").json()
    return health["active"], health["waiting"]


def test_a_client_that_hangs_up_stops_its_sequence(server):
    def cancelled() -> float:
        return metric(server.base_url, "llm_sequences_finished_total", reason="cancelled")

    def idle() -> bool:
        return httpx.get(f"{server.base_url}/health").json()["active"] == 0

    before = cancelled()
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="unused", max_retries=0)
    request = {name: value for name, value in LONG.items() if name != "ignore_eos"}
    stream = client.completions.create(stream=True, extra_body={"ignore_eos": True}, **request)
    for _, _chunk in zip(range(3), stream, strict=False):
        pass
    stream.close()
    assert wait_until(lambda: cancelled() == before + 1) and wait_until(idle)

    # Not streamed: the client gives up waiting.
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{server.base_url}/v1/completions", json=LONG, timeout=0.1)
    assert wait_until(lambda: cancelled() == before + 2) and wait_until(idle)
    generated = metric(server.base_url, "llm_generated_tokens_total")
    time.sleep(0.2)
    assert metric(server.base_url, "llm_generated_tokens_total") == generated


def test_python_m_llm_server_serves_the_model_directory(model_dir):
    port = free_port()
    env = os.environ | {"LLM_PORT": str(port), "LLM_MODEL_PATH": str(model_dir), "LLM_MODEL_NAME": "served"}
    process = subprocess.Popen([sys.executable, "-m", "llm_server"], env=env)

    def up() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
        except httpx.TransportError:
            return False

    try:
        assert wait_until(lambda: up() or process.poll() is not None, timeout=60, interval=0.2)
        assert process.poll() is None, "the server exited"
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0)
        assert [model.id for model in client.models.list().data] == ["served"]
        answer = client.chat.completions.create(model="served", messages=[{"role": "user", "content": "hi"}])
        assert answer.choices[0].message.content is not None
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_a_missing_model_is_explained(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LLM_MODEL_PATH", str(tmp_path / "nothing"))
    assert llm_server_main() == 1
    error = capsys.readouterr().err
    assert "no model at" in error and "LLM_MODEL_PATH" in error


def test_a_bad_setting_is_explained(monkeypatch, capsys):
    monkeypatch.setenv("LLM_MAX_BATCH", "lots")
    assert llm_server_main() == 2
    assert "LLM_MAX_BATCH must be an integer" in capsys.readouterr().err
