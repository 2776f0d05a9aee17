"""A tiny random-weight GPT-2 saved like a real model directory, and servers on loopback ports."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402
import uvicorn  # noqa: E402
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers  # noqa: E402
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast  # noqa: E402

from llm_server.api import create_app  # noqa: E402
from llm_server.config import Settings  # noqa: E402
from llm_server.loading import LoadedModel, load_model  # noqa: E402
from tests.conftest import free_port  # noqa: E402

MODEL_NAME = "tiny-test-model"
EOS = "<|endoftext|>"
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
SENTENCES = [
    "where is my order SO-1003?",
    "Order SO-1003 is stocked in and awaiting shipment.",
    "please send the order number together with the e-mail address.",
    "Your invoice is ready, the amount is 120.50 CNY.",
    "The shipment left the warehouse this morning with SF Express.",
    "A colleague will get back to you shortly about the refund.",
    "Thank you! Is there anything else I can help you with today?",
    "user: hello there\nassistant: hi, how can I help?",
]


def build_tiny_model(directory: Path, n_positions: int = 1024) -> Path:
    """A byte-level BPE trained on a few ASCII sentences (so every token decodes to plain text) and a
    random GPT-2 with weights large enough that greedy choices are never near ties."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=200, special_tokens=[EOS], show_progress=False)
    tokenizer.train_from_iterator(SENTENCES * 5, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token=EOS, bos_token=EOS, pad_token=EOS)
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(directory)

    torch.manual_seed(1234)
    eos_id = fast.convert_tokens_to_ids(EOS)
    config = GPT2Config(
        vocab_size=len(fast),
        n_positions=n_positions,
        n_embd=32,
        n_layer=2,
        n_head=2,
        initializer_range=0.3,
        bos_token_id=eos_id,
        eos_token_id=eos_id,
        pad_token_id=eos_id,
    )
    GPT2LMHeadModel(config).eval().save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def reference(model_dir: Path) -> LoadedModel:
    """A second copy of the model, for the tests' own model.generate."""
    return load_model(model_dir)


@dataclass
class RunningServer:
    base_url: str
    loaded: LoadedModel


@contextmanager
def serve(model_dir: Path, **settings) -> Iterator[RunningServer]:
    """The real app under uvicorn in a thread, on a free loopback port."""
    port = free_port()
    config = Settings(port=port, model_path=model_dir, model_name=MODEL_NAME, **settings)
    loaded = load_model(model_dir)
    server = uvicorn.Server(
        uvicorn.Config(create_app(config, loaded), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the LLM server did not start")
        time.sleep(0.02)
    try:
        yield RunningServer(f"http://127.0.0.1:{port}", loaded)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(model_dir: Path) -> Iterator[RunningServer]:
    with serve(model_dir, max_batch=8, max_queue=64) as running:
        yield running
