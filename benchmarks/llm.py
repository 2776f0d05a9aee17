"""LLM server throughput and time to first token at 16 concurrent requests, each against its anchor.

Throughput: 16 streamed completions arriving 10 ms apart at the server (its own process, on loopback)
against sequential `model.generate` of the same prompts in the same run. Both sides generate exactly
NEW_TOKENS greedy tokens per request (EOS ignored: `ignore_eos` / `min_new_tokens`), so they do the
same work. Time to first token: the same arrivals, against serving them one at a time with
`model.generate` (request i waits for the ones before it).

    python -m benchmarks.llm [MODEL_DIR]   -> prints the table; without a model directory (or when it
                                               holds no model) a random 5 M-parameter GPT-2 is used
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.table import Row, percentile, render

CONCURRENCY = 16
NEW_TOKENS = int(os.environ.get("BENCH_LLM_NEW_TOKENS", "64"))
STAGGER_S = 0.010
MODEL_NAME = "bench"
PROMPT_WORDS = ("where", "is", "my", "order", "please", "send", "the", "invoice", "for", "shipment", "today")


def run(model_dir: Path | None = None) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="orderbot-bench-llm-") as tmp:
        if model_dir is None or not (Path(model_dir) / "config.json").is_file():
            print(f"no model at {model_dir}: using a random 5 M-parameter GPT-2", file=sys.stderr, flush=True)
            model_dir = random_gpt2(Path(tmp) / "model")
        prompts = make_prompts(Path(model_dir))
        print(f"LLM: sequential model.generate of {CONCURRENCY} prompts ...", file=sys.stderr, flush=True)
        anchor_durations = sequential_generate(Path(model_dir), prompts)
        print(f"LLM: {CONCURRENCY} concurrent requests to the server ...", file=sys.stderr, flush=True)
        served = serve_and_measure(Path(model_dir), prompts)

    anchor_rate = CONCURRENCY * NEW_TOKENS / sum(anchor_durations)
    anchor_ttft = one_at_a_time_ttft(anchor_durations)
    ttft = served["ttft"]
    return [
        Row(
            f"LLM tokens/s, {CONCURRENCY} concurrent (anchor: sequential model.generate)",
            served["tokens"] / served["wall_s"],
            anchor_rate,
            "tok/s",
            ">= 5x anchor",
        ),
        Row(
            "  p50 time to first token (anchor: one at a time)",
            percentile(ttft, 50, "inclusive") * 1000,
            percentile(anchor_ttft, 50, "inclusive") * 1000,
            "ms",
            "report",
            higher_is_better=False,
        ),
        Row(
            "  p95 time to first token",
            percentile(ttft, 95, "inclusive") * 1000,
            percentile(anchor_ttft, 95, "inclusive") * 1000,
            "ms",
            "report",
            higher_is_better=False,
        ),
    ]


def random_gpt2(directory: Path) -> Path:
    """About 5 M parameters (n_embd 256, 4 layers, vocabulary 6,000) and a word-level tokenizer to match."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    vocabulary = {"<|endoftext|>": 0} | {f"w{i}": i for i in range(1, 6000)}
    tokenizer = Tokenizer(models.WordLevel(vocabulary, unk_token="<|endoftext|>"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|endoftext|>")
    fast.save_pretrained(directory)
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=6000, n_positions=512, n_embd=256, n_layer=4, n_head=4, bos_token_id=0, eos_token_id=0
    )
    GPT2LMHeadModel(config).save_pretrained(directory)
    return directory


def make_prompts(model_dir: Path) -> list[list[int]]:
    """Token ids of 16 prompts of different lengths (8 to 38 tokens), the same for both sides."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    words = PROMPT_WORDS
    texts = [" ".join(words[(i + j) % len(words)] for j in range(8 + 2 * i)) for i in range(CONCURRENCY)]
    special = set(tokenizer.all_special_ids)
    prompts = []
    for i, text in enumerate(texts):
        ids = [t for t in tokenizer.encode(text, add_special_tokens=False) if t not in special]
        prompts.append(ids or [1 + i])
    return prompts


def sequential_generate(model_dir: Path, prompts: list[list[int]]) -> list[float]:
    """Seconds of each prompt's `model.generate`, one after the other (after one warm-up), with as many
    torch threads as the server uses (fewer threads are faster for small models: same for both)."""
    import torch

    from llm_server.config import cpu_threads
    from llm_server.loading import load_model

    torch.set_num_threads(int(os.environ.get("LLM_TORCH_THREADS") or cpu_threads()))

    loaded = load_model(model_dir)

    def generate(ids: list[int]) -> None:
        input_ids = torch.tensor([ids], device=loaded.device)
        loaded.model.generate(
            input_ids,
            attention_mask=torch.ones_like(input_ids),
            max_new_tokens=NEW_TOKENS,
            min_new_tokens=NEW_TOKENS,
            do_sample=False,
            pad_token_id=loaded.tokenizer.eos_token_id,
        )

    durations = []
    with torch.inference_mode():
        generate(prompts[0])
        for ids in prompts:
            start = time.perf_counter()
            generate(ids)
            durations.append(time.perf_counter() - start)
    return durations


def one_at_a_time_ttft(durations: list[float]) -> list[float]:
    """First-token times of the staggered arrivals when each request waits for the previous one;
    a request's first token comes after about 1/NEW_TOKENS of its own run."""
    free_at, result = 0.0, []
    for index, duration in enumerate(durations):
        arrival = index * STAGGER_S
        start = max(arrival, free_at)
        result.append(start + duration / NEW_TOKENS - arrival)
        free_at = start + duration
    return result


@contextmanager
def served(model_dir: Path) -> Iterator[str]:
    """The LLM server on ``model_dir`` in its own process; yields its base URL once it answers."""
    from openai import APIConnectionError, OpenAI

    from tests.conftest import free_port

    port = free_port()
    env = os.environ | {
        "LLM_PORT": str(port),
        "LLM_MODEL_PATH": str(model_dir),
        "LLM_MODEL_NAME": MODEL_NAME,
        "LLM_MAX_BATCH": str(CONCURRENCY),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "llm_server"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        client = OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=5)
        deadline = time.monotonic() + 120
        while True:
            try:
                client.models.list()
                break
            except APIConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the LLM server did not start") from None
                time.sleep(0.2)
        yield base_url
    finally:
        server.terminate()
        server.wait(timeout=30)


def serve_and_measure(model_dir: Path, prompts: list[list[int]]) -> dict:
    with served(model_dir) as base_url:
        return asyncio.run(_measure(base_url, prompts))


async def _measure(base_url: str, prompts: list[list[int]]) -> dict:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=600)

    async def one(ids: list[int], delay: float) -> tuple[float, int]:
        await asyncio.sleep(delay)
        sent = time.perf_counter()
        first_token_at, tokens = None, 0
        stream = await client.completions.create(
            model=MODEL_NAME,
            prompt=ids,
            max_tokens=NEW_TOKENS,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
            extra_body={"ignore_eos": True},
        )
        async for chunk in stream:
            if first_token_at is None and chunk.choices:
                first_token_at = time.perf_counter()
            if chunk.usage is not None:
                tokens = chunk.usage.completion_tokens
        return first_token_at - sent, tokens

    async with client:
        await one(prompts[0], 0)  # warm-up
        start = time.perf_counter()
        results = await asyncio.gather(*(one(ids, i * STAGGER_S) for i, ids in enumerate(prompts)))
        wall = time.perf_counter() - start
    tokens = sum(count for _, count in results)
    if tokens != CONCURRENCY * NEW_TOKENS:
        print(f"LLM: expected {CONCURRENCY * NEW_TOKENS} tokens, got {tokens}", file=sys.stderr)
    return {"ttft": [ttft for ttft, _ in results], "tokens": tokens, "wall_s": wall}


def main(argv: list[str]) -> int:
    model_dir = Path(argv[0]) if argv else None
    rows = run(model_dir)
    if model_dir is not None and (model_dir / "config.json").is_file():
        rows += fact_guard_rows(model_dir)
    print(render(rows))
    return 0


# --- facts kept by the default model ----------------------------------------------------------------

GUARD_SITUATIONS = int(os.environ.get("BENCH_LLM_GUARD_SITUATIONS", "200"))
PHRASING_MAX_TOKENS = 96  # what the action server asks for (LLM_MAX_TOKENS)


def fact_guard_rows(model_dir: Path) -> list[Row]:
    """Share of held-out reply situations whose phrasing passes the action server's fact guard: through
    the server (the path a customer's reply takes), against the same model's `model.generate`."""
    from llm_server.corpus import held_out_situations

    situations = held_out_situations(GUARD_SITUATIONS, seed=2026)  # the training never saw these
    print(f"LLM: {len(situations)} held-out situations through the server ...", file=sys.stderr, flush=True)
    with served(model_dir) as base_url:
        served_replies = asyncio.run(_phrase_all(base_url, situations))
    print("LLM: the same situations with model.generate ...", file=sys.stderr, flush=True)
    direct_replies = _generate_all(model_dir, situations)
    return [
        Row(
            f"default model: replies passing the fact guard, {len(situations)} held-out situations "
            "(anchor: model.generate)",
            100 * _guard_share(served_replies, situations),
            100 * _guard_share(direct_replies, situations),
            "%",
            ">= 90 %",
        )
    ]


async def _phrase_all(base_url: str, situations: list) -> list[str]:
    from openai import AsyncOpenAI

    from llm_server.phrasing_format import messages

    limit = asyncio.Semaphore(CONCURRENCY)
    async with AsyncOpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=120) as client:

        async def one(language: str, facts: dict, template: str) -> str:
            async with limit:
                completion = await client.chat.completions.create(
                    model=MODEL_NAME,
                    messages=messages(language, facts, template),
                    temperature=0,
                    max_tokens=PHRASING_MAX_TOKENS,
                )
            return completion.choices[0].message.content or ""

        return await asyncio.gather(*(one(*situation) for situation in situations))


def _generate_all(model_dir: Path, situations: list) -> list[str]:
    import torch

    from llm_server.loading import load_model
    from llm_server.phrasing_format import messages

    loaded = load_model(model_dir)
    tokenizer = loaded.tokenizer
    replies = []
    with torch.inference_mode():
        for language, facts, template in situations:
            prompt = loaded.chat_prompt_ids(messages(language, facts, template))
            ids = torch.tensor([prompt], device=loaded.device)
            output = loaded.model.generate(
                ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=PHRASING_MAX_TOKENS,
                do_sample=False,
                pad_token_id=tokenizer.eos_token_id,
            )
            replies.append(tokenizer.decode(output[0, ids.shape[1] :], skip_special_tokens=True))
    return replies


def _guard_share(replies: list[str], situations: list) -> float:
    from actions import fact_guard
    from llm_server.phrasing_format import fill_facts

    passed = sum(
        fact_guard.check(fill_facts(reply.strip(), facts), facts, template).passed
        for reply, (_, facts, template) in zip(replies, situations, strict=True)
    )
    return passed / max(1, len(situations))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
