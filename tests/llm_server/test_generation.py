"""The OpenAI client against the real server: answers equal unbatched model.generate, streaming,
stop strings, seeds, and continuous batching observed in the metrics."""

from __future__ import annotations

import asyncio
import time

import httpx2 as httpx
import pytest
from openai import AsyncOpenAI, OpenAI

from tests.llm_server.conftest import MODEL_NAME
from tests.llm_server.helpers import greedy_reference, metric

PROMPTS = [
    "where",
    "Order SO-1003 is",
    "please send the order number together with",
    "The shipment left the warehouse this morning with SF Express. A colleague will",
    "Thank you!",
    "Your invoice is ready, the amount is 120.50 CNY. Is there anything else I can help you with",
]


@pytest.fixture
def client(server) -> OpenAI:
    return OpenAI(base_url=f"{server.base_url}/v1", api_key="unused", max_retries=0)


def test_models_list_names_the_served_model(client):
    assert [model.id for model in client.models.list().data] == [MODEL_NAME]
    assert client.models.retrieve(MODEL_NAME).id == MODEL_NAME


def test_health(server):
    body = httpx.get(f"{server.base_url}/health").json()
    assert body["status"] == "ok" and body["model"] == MODEL_NAME


def test_greedy_completion_equals_model_generate(client, reference):
    prompt = PROMPTS[2]
    completion = client.completions.create(model=MODEL_NAME, prompt=prompt, max_tokens=24, temperature=0)
    expected = greedy_reference(reference, reference.tokenizer.encode(prompt), 24)
    assert completion.choices[0].text == expected
    assert completion.usage.prompt_tokens == len(reference.tokenizer.encode(prompt))
    assert completion.usage.completion_tokens <= 24
    usage = completion.usage
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_chat_uses_the_chat_template(client, reference):
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "where is my order?"}]
    answer = client.chat.completions.create(model=MODEL_NAME, messages=messages, max_tokens=20, temperature=0)
    rendered = reference.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    prompt_ids = reference.tokenizer.encode(rendered, add_special_tokens=False)
    assert answer.choices[0].message.role == "assistant"
    assert answer.choices[0].message.content == greedy_reference(reference, prompt_ids, 20)
    assert answer.usage.prompt_tokens == len(prompt_ids)
    assert answer.choices[0].finish_reason in ("stop", "length")


def test_concurrent_requests_of_different_lengths_each_equal_their_own_generate(server, reference):
    """Requests arrive at different times with different prompt and output lengths, so rows join a
    running batch (left-padding on either side) and leave it while others go on."""
    client = AsyncOpenAI(base_url=f"{server.base_url}/v1", api_key="unused", max_retries=0)
    lengths = [40, 12, 33, 25, 48, 18]
    # Arrivals spread over the first half of the longest request's run, however fast this machine
    # generates (a fixed 15 ms let each request end before the next came on an idle machine).
    started = time.perf_counter()
    client_sync = OpenAI(base_url=f"{server.base_url}/v1", api_key="unused", max_retries=0)
    client_sync.completions.create(
        model=MODEL_NAME, prompt=PROMPTS[4], max_tokens=48, temperature=0, extra_body={"ignore_eos": True}
    )
    gap = (time.perf_counter() - started) / (2 * len(PROMPTS))
    steps_before = metric(server.base_url, "llm_batch_size_count")
    shared_before = steps_before - metric(server.base_url, "llm_batch_size_bucket", le="1.0")

    async def one(index: int) -> str:
        await asyncio.sleep(gap * index)
        completion = await client.completions.create(
            model=MODEL_NAME,
            prompt=PROMPTS[index],
            max_tokens=lengths[index],
            temperature=0,
            extra_body={"ignore_eos": True},
        )
        return completion.choices[0].text

    async def all_of_them() -> list[str]:
        async with client:
            return await asyncio.gather(*(one(i) for i in range(len(PROMPTS))))

    texts = asyncio.run(all_of_them())
    for prompt, length, text in zip(PROMPTS, lengths, texts, strict=True):
        ids = reference.tokenizer.encode(prompt)
        assert text == _greedy_ignoring_eos(reference, ids, length), prompt
    # Continuous batching: decode steps shared by several sequences happened.
    steps_after = metric(server.base_url, "llm_batch_size_count")
    shared_after = steps_after - metric(server.base_url, "llm_batch_size_bucket", le="1.0")
    assert shared_after - shared_before > 0
    # More than one row per step on average.
    assert metric(server.base_url, "llm_batch_size_sum") > steps_after


def _greedy_ignoring_eos(reference, prompt_ids: list[int], max_new_tokens: int) -> str:
    import torch

    input_ids = torch.tensor([prompt_ids])
    with torch.inference_mode():
        output = reference.model.generate(
            input_ids,
            attention_mask=torch.ones_like(input_ids),
            max_new_tokens=max_new_tokens,
            min_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=reference.tokenizer.eos_token_id,
        )
    return reference.tokenizer.decode(output[0, input_ids.shape[1] :], skip_special_tokens=True)


def test_streamed_chat_chunks_add_up_to_the_answer(client):
    messages = [{"role": "user", "content": "hello there"}]
    whole = client.chat.completions.create(model=MODEL_NAME, messages=messages, max_tokens=30, temperature=0)
    chunks = list(
        client.chat.completions.create(
            model=MODEL_NAME,
            messages=messages,
            max_tokens=30,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == whole.choices[0].message.content
    finishing = [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices]
    assert finishing[-1] == whole.choices[0].finish_reason and not any(finishing[:-1])
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == whole.usage.total_tokens


def test_streamed_completion_is_server_sent_events_ending_with_done(server):
    body = {"model": MODEL_NAME, "prompt": "where", "max_tokens": 8, "temperature": 0, "stream": True}
    with httpx.stream("POST", f"{server.base_url}/v1/completions", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    assert '"object": "text_completion"' in lines[0]


@pytest.mark.parametrize("stream", [False, True])
def test_stop_string_cuts_the_text_before_it(client, reference, stream):
    prompt = PROMPTS[1]
    full = _greedy_ignoring_eos(reference, reference.tokenizer.encode(prompt), 40)
    stop = full[10:13]
    expected = full[: full.index(stop)]
    request = {"model": MODEL_NAME, "prompt": prompt, "max_tokens": 40, "temperature": 0}
    request |= {"stop": ["never-appears", stop], "extra_body": {"ignore_eos": True}}
    if stream:
        chunks = list(client.completions.create(stream=True, **request))
        text = "".join(chunk.choices[0].text for chunk in chunks)
        reason = chunks[-1].choices[0].finish_reason
    else:
        choice = client.completions.create(**request).choices[0]
        text, reason = choice.text, choice.finish_reason
    assert (text, reason) == (expected, "stop")


def test_max_tokens_ends_with_length(client):
    completion = client.completions.create(
        model=MODEL_NAME, prompt="where", max_tokens=5, temperature=0, extra_body={"ignore_eos": True}
    )
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage.completion_tokens == 5


def test_same_seed_same_text(client):
    def sample(seed: int) -> str:
        completion = client.completions.create(
            model=MODEL_NAME, prompt="Thank you!", max_tokens=30, temperature=1.0, top_p=0.9, seed=seed
        )
        return completion.choices[0].text

    assert sample(7) == sample(7)
    assert len({sample(seed) for seed in (1, 2, 3, 4)}) > 1


@pytest.mark.parametrize(("interval_ms", "most_chunks"), [(0, None), (250, 4)])
def test_a_stream_sends_at_most_one_chunk_per_interval_and_loses_nothing(model_dir, interval_ms, most_chunks):
    """The first token goes at once; then what was generated meanwhile goes in one chunk per interval."""
    from openai import OpenAI

    from tests.llm_server.conftest import serve

    with serve(model_dir, max_batch=4, stream_interval_ms=interval_ms) as running:
        client = OpenAI(base_url=f"{running.base_url}/v1", api_key="unused", max_retries=0)
        body = {"model": MODEL_NAME, "prompt": "where", "max_tokens": 48, "temperature": 0}
        whole = client.completions.create(**body, extra_body={"ignore_eos": True})
        started = time.perf_counter()
        arrivals, texts = [], []
        for chunk in client.completions.create(**body, stream=True, extra_body={"ignore_eos": True}):
            arrivals.append(time.perf_counter() - started)
            texts.append(chunk.choices[0].text)
    assert "".join(texts) == whole.choices[0].text
    if most_chunks is None:
        assert len(texts) > 8  # token by token (some may pile up between two reads)
    else:
        assert len(texts) <= most_chunks  # 48 tokens take well under a second here
        assert arrivals[0] < 0.25  # the first token did not wait for the interval
