"""The lean GPT-2 forward computes what transformers computes: prefill, and batched decode with
sequences joining (left padding) and leaving, step for step."""

from __future__ import annotations

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

from llm_server.batch import DecodeBatch, PrefilledSequence, new_cache
from llm_server.fast_gpt2 import FastGPT2, supports

PROMPTS = [[5, 17, 42, 8, 99], [3, 4], [250, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [77]]


@pytest.fixture(scope="module", params=[False, True], ids=["scaled", "scaled-by-layer"])
def model(request) -> GPT2LMHeadModel:
    torch.manual_seed(7)
    config = GPT2Config(
        vocab_size=300,
        n_positions=128,
        n_embd=64,
        n_layer=3,
        n_head=4,
        scale_attn_by_inverse_layer_idx=request.param,
        bos_token_id=0,
        eos_token_id=0,
    )
    return GPT2LMHeadModel(config).eval()


def _prefill(forward, config, prompt: list[int]) -> tuple[PrefilledSequence, torch.Tensor]:
    cache = new_cache(config)
    logits = forward(input_ids=torch.tensor([prompt]), cache=cache, use_cache=True).logits[:, -1, :]
    token = int(logits.argmax(-1))
    return PrefilledSequence(cache=cache, prompt_length=len(prompt), first_token=token), logits


def _run(forward, config) -> list[torch.Tensor]:
    """Two sequences, then two more join, one leaves, steps in between: every logits row seen."""
    seen = []
    batch = DecodeBatch(torch.device("cpu"))
    joining = []
    for prompt in PROMPTS[:2]:
        entry, logits = _prefill(forward, config, prompt)
        joining.append(entry)
        seen.append(logits)
    batch.join(joining)
    for step in range(9):
        if step == 3:
            more = [_prefill(forward, config, prompt) for prompt in PROMPTS[2:]]
            seen += [logits for _, logits in more]
            batch.join([entry for entry, _ in more])
        if step == 6:
            batch.keep([0, 2, 3])
        logits = batch.step(forward)
        seen.append(logits)
        batch.set_next_input(logits.argmax(-1))
    return seen


def test_prefill_and_batched_decode_match_transformers(model):
    with torch.inference_mode():
        expected = _run(model, model.config)
        actual = _run(FastGPT2(model), model.config)
    assert len(actual) == len(expected)
    for want, got in zip(expected, actual, strict=True):
        assert got.shape == want.shape
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
        assert torch.equal(got.argmax(-1), want.argmax(-1))


def test_only_plain_gpt2_takes_the_lean_path(model):
    assert supports(model)
    llama = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=100, hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2
        )
    )
    assert not supports(llama)
    relu = GPT2Config(vocab_size=50, n_embd=16, n_layer=1, n_head=2, activation_function="relu")
    relu = GPT2LMHeadModel(relu)
    assert not supports(relu)
    with pytest.raises(ValueError):
        FastGPT2(llama)
