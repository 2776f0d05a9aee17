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


ROUNDS = int(os.environ.get("BENCH_LLM_ROUNDS", "3"))


def run(model_dir: Path | None = None) -> list[Row]:
    """Anchor and server measured alternately, ROUNDS times (the machine's speed drifts within a run);
    each row is the median round."""
    with tempfile.TemporaryDirectory(prefix="orderbot-bench-llm-") as tmp:
        if model_dir is None or not (Path(model_dir) / "config.json").is_file():
            print(f"no model at {model_dir}: using a random 5 M-parameter GPT-2", file=sys.stderr, flush=True)
            model_dir = random_gpt2(Path(tmp) / "model")
        prompts = make_prompts(Path(model_dir))
        anchors, serves = [], []
        with served(Path(model_dir)) as base_url:
            for round_number in range(1, ROUNDS + 1):
                print(
                    f"LLM round {round_number}/{ROUNDS}: sequential model.generate, then the server ...",
                    file=sys.stderr,
                    flush=True,
                )
                anchors.append(sequential_generate(Path(model_dir), prompts))
                serves.append(asyncio.run(_measure(base_url, prompts)))

    anchor_rates = [CONCURRENCY * NEW_TOKENS / sum(durations) for durations in anchors]
    served_rates = [result["tokens"] / result["wall_s"] for result in serves]
    for number, (ours, anchor) in enumerate(zip(served_rates, anchor_rates, strict=True), 1):
        print(
            f"LLM round {number}: {ours:,.0f} vs {anchor:,.0f} tok/s = {ours / anchor:.2f}x", file=sys.stderr
        )
    middle = sorted(range(ROUNDS), key=lambda i: served_rates[i] / anchor_rates[i])[ROUNDS // 2]
    anchor_ttft = one_at_a_time_ttft(anchors[middle])
    ttft = serves[middle]["ttft"]
    return [
        Row(
            f"LLM tokens/s, {CONCURRENCY} concurrent (anchor: sequential model.generate, median of {ROUNDS})",
            served_rates[middle],
            anchor_rates[middle],
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
    print(render(run(model_dir)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
