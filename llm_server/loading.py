"""Load a local Hugging Face causal-LM directory and turn requests into prompt token ids.

Never downloads: the hub is switched offline before transformers is imported and every load is
`local_files_only`. CUDA runs in bf16 when the card supports it, the CPU in float32.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import torch  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase  # noqa: E402

from llm_server.fast_gpt2 import FastGPT2  # noqa: E402
from llm_server.fast_gpt2 import supports as fast_gpt2_supports  # noqa: E402


class ModelLoadError(RuntimeError):
    """The model directory is missing, incomplete or holds a model this server cannot batch."""


@dataclass
class LoadedModel:
    model: torch.nn.Module
    tokenizer: PreTrainedTokenizerBase
    device: torch.device
    context_length: int
    eos_token_ids: frozenset[int]
    # What the scheduler calls for a forward pass: the lean GPT-2 forward when the model is a plain
    # GPT-2 (see fast_gpt2), else the model itself.
    forward: Callable[..., Any] | None = None

    def __post_init__(self) -> None:
        if self.forward is None:
            self.forward = FastGPT2(self.model) if fast_gpt2_supports(self.model) else self.model

    def chat_prompt_ids(self, messages: list[dict[str, str]]) -> list[int]:
        """The tokenizer's chat template when it has one, else a plain "role: content" transcript."""
        if getattr(self.tokenizer, "chat_template", None):
            text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            # The template already holds whatever BOS/EOS markers the model was trained with.
            return self.tokenizer.encode(text, add_special_tokens=False)
        transcript = "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant:"
        return self.tokenizer.encode(transcript)

    def completion_prompt_ids(self, prompt: str) -> list[int]:
        return self.tokenizer.encode(prompt)


def pick_device() -> tuple[torch.device, torch.dtype]:
    if torch.cuda.is_available():
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.device("cuda"), dtype
    return torch.device("cpu"), torch.float32


def load_model(model_path: Path) -> LoadedModel:
    model_path = Path(model_path)
    if not (model_path / "config.json").is_file():
        raise ModelLoadError(
            f"no model at {model_path}: expected a Hugging Face directory with config.json "
            "(train the default one, or point LLM_MODEL_PATH at another)"
        )
    device, dtype = pick_device()
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_path, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(model_path, local_files_only=True, dtype=dtype)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot load the model at {model_path}: {exc}") from exc
    model.to(device).eval()
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        device=device,
        context_length=_context_length(model.config, tokenizer),
        eos_token_ids=_eos_token_ids(model, tokenizer),
    )


def _context_length(config, tokenizer: PreTrainedTokenizerBase) -> int:
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    # Tokenizers without a limit report a huge sentinel; 2048 is a safe guess for such models.
    limit = getattr(tokenizer, "model_max_length", 0)
    return limit if 0 < limit < 1_000_000 else 2048


def _eos_token_ids(model, tokenizer: PreTrainedTokenizerBase) -> frozenset[int]:
    ids: set[int] = set()
    generation_config = getattr(model, "generation_config", None)
    configured = getattr(generation_config, "eos_token_id", None)
    if isinstance(configured, int):
        ids.add(configured)
    elif configured:
        ids.update(configured)
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return frozenset(ids)
