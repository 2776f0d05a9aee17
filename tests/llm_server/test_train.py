"""The default phrasing model's training: its corpus, and a tiny run that proves the output directory is
an ordinary Hugging Face model with a chat template, reproducible from its seed."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
import torch
from orderbot_common.phrasing import LANGUAGES, SYSTEM_PROMPT, fill_facts, messages, user_message
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

from llm_server import corpus
from llm_server.train import TrainConfig, keeps_facts, train

TINY = TrainConfig(
    seed=7,
    steps=3,
    batch_size=4,
    vocab_size=1200,
    tokenizer_examples=300,
    n_embd=32,
    n_layer=2,
    n_head=2,
    n_positions=320,
    held_out=8,
    eval_generations=2,
    threads=1,
)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("llm") / "model"
    train(TINY, out, quiet=True)
    return out


def test_the_output_is_an_ordinary_hugging_face_directory(tiny_model: Path):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    facts = {"order_id": "SO-1001", "status": "已发货"}
    prompt = tokenizer.apply_chat_template(
        messages("zh", facts, "订单 SO-1001 当前状态：已发货。"), add_generation_prompt=True, tokenize=False
    )
    assert prompt.startswith(tokenizer.bos_token) and prompt.endswith("<|assistant|>")
    assert SYSTEM_PROMPT["zh"] in prompt and "- order_id: SO-1001" in prompt
    assert tokenizer.eos_token == "<|end|>" and tokenizer.pad_token is not None
    ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")
    output = model.generate(**ids, max_new_tokens=5, do_sample=False)
    assert output.shape[1] > ids["input_ids"].shape[1]
    metrics = json.loads((tiny_model / "training.json").read_text())
    assert metrics["steps"] == TINY.steps and metrics["held_out_loss"] > 0
    assert not [p for p in tiny_model.parent.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_the_tokenizer_keeps_every_domain_character_and_round_trips(tiny_model: Path):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    for char in corpus.domain_characters(Path(__file__).resolve().parents[2]):
        assert len(tokenizer(char, add_special_tokens=False)["input_ids"]) == 1, char
    text = "订单 SO-1001 已由 顺丰 发货（运单号 SF1234567890123），运费 CNY 15.00。"
    assert tokenizer.decode(tokenizer(text, add_special_tokens=False)["input_ids"]) == text


def test_the_same_seed_gives_the_same_weights(tiny_model: Path, tmp_path: Path):
    train(TINY, tmp_path / "again", quiet=True)
    first = load_file(tiny_model / "model.safetensors")
    second = load_file(tmp_path / "again" / "model.safetensors")
    assert first.keys() == second.keys()
    assert all(torch.equal(first[name], second[name]) for name in first)


def test_the_corpus_covers_every_situation_in_both_languages_with_its_facts():
    examples = corpus.held_out_examples(len(corpus.SITUATIONS) * len(LANGUAGES) * 10, seed=3)
    assert {(e.situation, e.language) for e in examples} == {
        (s.name, lang) for s in corpus.SITUATIONS for lang in LANGUAGES
    }
    assert {s.audience for s in corpus.SITUATIONS} == {"customer", "staff"}
    for situation in corpus.SITUATIONS:
        for language in LANGUAGES:
            assert len(situation.phrasings[language]) >= 2
            for text in (situation.template[language], *situation.phrasings[language]):
                assert not re.search(r"\d", text), text  # digits only ever come from the facts
    rng = random.Random(5)
    for _ in range(2000):
        example = corpus.draw_example(rng)
        assert example.facts and keeps_facts(example.reply, example.facts), example
        assert keeps_facts(example.template, example.facts), example
        assert fill_facts(example.skeleton, example.facts).strip() == example.reply
        assert (
            re.search(r"[\u4e00-\u9fff]", example.reply)
            if example.language == "zh"
            else example.reply.isascii()
        )


def test_held_out_situations_are_deterministic_and_apart_from_training():
    first = corpus.held_out_situations(200, seed=1234)
    assert first == corpus.held_out_situations(200, seed=1234)
    assert len(first) == 200 and {language for language, _, _ in first} == set(LANGUAGES)
    stream = corpus.training_examples(1234)
    training_ids = {next(stream).facts.get("order_id") for _ in range(5000)}
    held_out_ids = {facts.get("order_id") for _, facts, _ in first} - {None}
    assert len(held_out_ids & training_ids) <= len(held_out_ids) // 20  # fresh draws: coincidences only


def test_the_user_message_layout():
    text = user_message("en", {"order_id": "SO-1001", "status": "shipped"}, "Order SO-1001 is shipped.")
    assert text == (
        "language: en\nfacts:\n- order_id: SO-1001\n- status: shipped\ntemplate: Order SO-1001 is shipped."
    )
    with pytest.raises(ValueError):
        user_message("fr", {}, "")


def test_the_local_fact_check():
    facts = {"order_id": "SO-1001", "amount": "12.50"}
    assert keeps_facts("Order SO-1001 costs 12.50.", facts)
    assert not keeps_facts("Order SO-1001 costs 12.5.", facts)  # changed a fact
    assert not keeps_facts("Order SO-1001 costs 12.50, due in 3 days.", facts)  # added a number


def test_fill_facts_puts_the_exact_values_in():
    facts = {"order_id": "SO-1001", "status": "shipped"}
    assert fill_facts("Order {order_id} is {status}.", facts) == "Order SO-1001 is shipped."
    assert fill_facts("Order SO-1001 is shipped.", facts) == "Order SO-1001 is shipped."  # values written out
    assert not keeps_facts(fill_facts("Order {order_id} via {carrier}.", facts), facts)  # unknown placeholder
