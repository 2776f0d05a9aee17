"""A client's mistakes are 400s in OpenAI's error shape, never 422 or 500."""

from __future__ import annotations

import httpx2 as httpx
import openai
import pytest

from tests.llm_server.conftest import MODEL_NAME

CHAT = {"model": MODEL_NAME, "messages": [{"role": "user", "content": "hi"}]}
COMPLETION = {"model": MODEL_NAME, "prompt": "hi"}


def assert_openai_error(response: httpx.Response, status: int = 400, param: str | None = None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]
    if status == 400:
        assert error["type"] == "invalid_request_error"
    if param is not None:
        assert error["param"] == param
    return error


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/chat/completions", CHAT | {"n": 2}, "n"),
        ("/v1/chat/completions", CHAT | {"temperature": -1}, "temperature"),
        ("/v1/chat/completions", CHAT | {"top_p": 0}, "top_p"),
        ("/v1/chat/completions", CHAT | {"max_tokens": "many"}, "max_tokens"),
        ("/v1/chat/completions", CHAT | {"max_tokens": 0}, "max_tokens"),
        ("/v1/chat/completions", CHAT | {"messages": "hello"}, "messages"),
        ("/v1/chat/completions", CHAT | {"messages": []}, "messages"),
        ("/v1/chat/completions", CHAT | {"messages": [{"role": "robot", "content": "x"}]}, None),
        ("/v1/chat/completions", CHAT | {"stop": 5}, None),
        ("/v1/chat/completions", {"messages": CHAT["messages"]}, "model"),
        ("/v1/chat/completions", CHAT | {"logprobs": True}, "logprobs"),
        ("/v1/completions", COMPLETION | {"n": 3}, "n"),
        ("/v1/completions", {"model": MODEL_NAME}, "prompt"),
        ("/v1/completions", COMPLETION | {"prompt": ["a", "b"]}, "prompt"),
        ("/v1/completions", COMPLETION | {"prompt": [999999]}, "prompt"),
        ("/v1/completions", COMPLETION | {"prompt": ""}, "prompt"),
        ("/v1/completions", COMPLETION | {"echo": True}, "echo"),
    ],
)
def test_invalid_parameters(server, path, body, param):
    assert_openai_error(httpx.post(server.base_url + path, json=body), param=param)


def test_unknown_model(server):
    response = httpx.post(f"{server.base_url}/v1/chat/completions", json=CHAT | {"model": "gpt-9"})
    assert assert_openai_error(response, param="model")["code"] == "model_not_found"


def test_prompt_plus_max_tokens_beyond_the_context(server):
    response = httpx.post(f"{server.base_url}/v1/completions", json=COMPLETION | {"max_tokens": 5000})
    error = assert_openai_error(response, param="max_tokens")
    assert error["code"] == "context_length_exceeded" and "1024" in error["message"]
    long_prompt = {"model": MODEL_NAME, "prompt": list(range(50)) * 30}
    error = assert_openai_error(httpx.post(f"{server.base_url}/v1/completions", json=long_prompt))
    assert error["code"] == "context_length_exceeded"


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"", "\xff".encode("latin-1")])
def test_malformed_json(server, content):
    headers = {"content-type": "application/json"}
    response = httpx.post(f"{server.base_url}/v1/chat/completions", content=content, headers=headers)
    assert_openai_error(response)


def test_unknown_route_and_method(server):
    assert_openai_error(httpx.get(f"{server.base_url}/v1/nothing"), status=404)
    assert_openai_error(httpx.get(f"{server.base_url}/v1/chat/completions"), status=405)


def test_the_openai_client_sees_bad_request_errors(server):
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=MODEL_NAME, messages=CHAT["messages"], n=2)
    assert caught.value.code is None or isinstance(caught.value.code, str)
    assert "n=1" in caught.value.message
