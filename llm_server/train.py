"""Train orderbot's default phrasing model: a byte-level BPE tokenizer and a small GPT-2 on the corpus.

    python -m llm_server.train --out models/llm [--seed 1234] [--max-minutes 9]

Deterministic for a given seed, step count and thread count (a run cut short by --max-minutes is
not: where it stops depends on the machine). Writes an ordinary Hugging Face directory (config,
safetensors weights, tokenizer with its chat template) into a temporary folder next to --out and
renames it into place, so an interrupted run never leaves half a model behind.

The model answers with {fact} placeholders that the client fills in (``fill_facts`` of
``orderbot_common.phrasing``): in a few CPU minutes it learns the phrasings well, copying long numbers
exactly it does not.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from orderbot_common.phrasing import FACT_NAMES, fill_facts, messages
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from tqdm import tqdm
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

from llm_server import corpus

REPO_ROOT = Path(__file__).resolve().parent.parent

BOS, EOS, PAD = "<|bos|>", "<|end|>", "<|pad|>"
ROLE_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>")
# Every turn is <|role|>content<|end|>; the assistant's <|end|> is the EOS that stops generation.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)
# Each CJK character is its own pre-token so a fact like 已发货 tokenizes the same in every context.
_CJK = r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]"
# Digits in groups of at most three: copying a number is then copying a few distinct tokens, which a
# small model's induction heads learn far faster than lining up a run of single, repeating digits.
_DIGIT_GROUP = r"\d{1,3}"
# A space before anything but a lowercase word is a token of its own: "SO-1001", "JD Logistics" or "CNY"
# then tokenize alike after a space, after "（" or after a CJK character, and copying them is one skill.
_SPACE_BEFORE_NON_WORD = r" (?=[^a-z\s])"
_TEMPLATE_MARK = "\ntemplate: "
_POOL_BATCHES = 8  # batches drawn at once and cut by length


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 1234
    # Measured on 416 held-out replies: after 1,000 steps no sentence outside the corpus, after 800 one.
    steps: int = 1000
    batch_size: int = 24
    learning_rate: float = 3e-3
    warmup_steps: int = 60
    vocab_size: int = 3000
    tokenizer_examples: int = 6000
    n_embd: int = 128
    n_layer: int = 4
    n_head: int = 4
    n_positions: int = 512
    held_out: int = 192  # examples for the held-out loss
    eval_generations: int = 50  # held-out situations generated greedily at the end
    threads: int = 1  # measured: 2 threads were slower than 1 on a busy 2-core machine (OpenMP spinning)
    # Learn {fact} placeholders (filled in by orderbot_common.phrasing.fill_facts) rather than copying values.
    placeholders: bool = True


# --- tokenizer ----------------------------------------------------------------------------------------


def train_tokenizer(config: TrainConfig) -> PreTrainedTokenizerFast:
    stream = corpus.training_examples(config.seed)
    texts = [_example_text(next(stream), config.placeholders) for _ in range(config.tokenizer_examples)]
    # The domain's characters, each many times, so every one becomes a token of its own.
    characters = corpus.domain_characters(REPO_ROOT)
    texts += list(characters) * 20

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_CJK), behavior="isolated"),
            pre_tokenizers.Split(Regex(_DIGIT_GROUP), behavior="isolated"),
            pre_tokenizers.Split(Regex(_SPACE_BEFORE_NON_WORD), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=config.vocab_size,
        min_frequency=2,
        special_tokens=[PAD, BOS, EOS, *ROLE_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # any byte: nothing is ever unknown
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    # A small vocabulary may still split a rare one into bytes: give those a token of their own.
    tokenizer.add_tokens([c for c in characters if len(tokenizer.encode(c).ids) != 1])
    # Each {fact} placeholder is one token: the model copies a placeholder whole or not at all, never
    # half of one ("{tracking number").
    tokenizer.add_tokens(["{" + name + "}" for name in FACT_NAMES])
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        model_max_length=config.n_positions,
        clean_up_tokenization_spaces=False,
    )
    wrapped.chat_template = CHAT_TEMPLATE
    return wrapped


def _example_text(example: corpus.Example, placeholders: bool) -> str:
    prompt = "\n".join(m["content"] for m in messages(example.language, example.facts, example.template))
    return prompt + "\n" + (example.skeleton if placeholders else example.reply)


# --- data ---------------------------------------------------------------------------------------------


def encode(
    tokenizer: PreTrainedTokenizerFast, example: corpus.Example, placeholders: bool = True
) -> tuple[list[int], list[int]]:
    """Token ids of the whole conversation and its labels: the reply is learned; when the reply copies
    fact values, so is the template (copying the facts listed above it: more of the same skill)."""
    prompt = tokenizer.apply_chat_template(
        messages(example.language, example.facts, example.template),
        add_generation_prompt=True,
        tokenize=False,
    )
    encoded = tokenizer(prompt, add_special_tokens=False, return_offsets_mapping=True)
    learn_from = len(prompt) if placeholders else prompt.rindex(_TEMPLATE_MARK) + len(_TEMPLATE_MARK)
    ids = list(encoded["input_ids"])
    labels = [
        t if start >= learn_from else -100
        for t, (start, _) in zip(ids, encoded["offset_mapping"], strict=True)
    ]
    target = example.skeleton if placeholders else example.reply
    reply = tokenizer(target, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    return ids + reply, labels + reply


def batches(
    tokenizer: PreTrainedTokenizerFast,
    examples: Iterator[corpus.Example],
    size: int,
    max_length: int,
    seed: int,
    placeholders: bool,
) -> Iterator[dict[str, torch.Tensor]]:
    """Batches of similar length (little padding: CPU time is the budget), in a seeded order."""
    order = random.Random(f"batches-{seed}")
    while True:
        pool = sorted(
            (encode(tokenizer, next(examples), placeholders) for _ in range(size * _POOL_BATCHES)),
            key=lambda e: len(e[0]),
        )
        chunks = [pool[i : i + size] for i in range(0, len(pool), size)]
        order.shuffle(chunks)
        for chunk in chunks:
            yield collate(chunk, tokenizer.pad_token_id, max_length)


def collate(
    encoded: Sequence[tuple[list[int], list[int]]], pad_id: int, max_length: int
) -> dict[str, torch.Tensor]:
    length = min(max_length, max(len(ids) for ids, _ in encoded))
    input_ids = torch.full((len(encoded), length), pad_id, dtype=torch.long)
    labels = torch.full((len(encoded), length), -100, dtype=torch.long)
    attention = torch.zeros((len(encoded), length), dtype=torch.long)
    for row, (ids, labs) in enumerate(encoded):
        ids, labs = ids[:length], labs[:length]
        input_ids[row, : len(ids)] = torch.tensor(ids)
        labels[row, : len(labs)] = torch.tensor(labs)
        attention[row, : len(ids)] = 1
    return {"input_ids": input_ids, "labels": labels, "attention_mask": attention}


# --- model and training -------------------------------------------------------------------------------


def build_model(config: TrainConfig, tokenizer: PreTrainedTokenizerFast) -> GPT2LMHeadModel:
    model_config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=config.n_positions,
        n_embd=config.n_embd,
        n_layer=config.n_layer,
        n_head=config.n_head,
        # Fresh examples every step: nothing to overfit, and no dropout keeps the steps cheap.
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
        loss_type="ForCausalLM",
    )
    model = GPT2LMHeadModel(model_config)
    with torch.no_grad():  # see sinusoids(): relative positions from the first step
        model.transformer.wpe.weight.copy_(sinusoids(config.n_positions, config.n_embd))
    model.generation_config.do_sample = False
    model.generation_config.max_new_tokens = 160
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def sinusoids(positions: int, width: int, std: float = 0.02) -> torch.Tensor:
    """The original Transformer's position encodings, scaled to the token embeddings' size. GPT-2 learns
    its position embeddings; starting from these, "look at the previous token" (which copying needs)
    is one linear map for every position instead of one lookup per position to learn."""
    position = torch.arange(positions, dtype=torch.float32)[:, None]
    frequency = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(10000.0) / width))
    table = torch.zeros(positions, width)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)
    return table * (std / table.std())


def learning_rate(config: TrainConfig, step: int) -> float:
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    return config.learning_rate * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def seed_everything(seed: int, threads: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)


def train(config: TrainConfig, out: Path, max_minutes: float | None = None, quiet: bool = False) -> dict:
    """Train, evaluate and save into ``out`` (atomically); return the metrics also saved there."""
    started, cpu_started = time.monotonic(), time.process_time()
    seed_everything(config.seed, config.threads)
    tokenizer = train_tokenizer(config)
    model = build_model(config, tokenizer)
    parameters = sum(p.numel() for p in model.parameters())
    log = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))
    log(f"tokenizer: {len(tokenizer)} tokens; model: {parameters / 1e6:.2f}M parameters")

    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, betas=(0.9, 0.98), weight_decay=0.01
    )
    data = batches(
        tokenizer,
        corpus.training_examples(config.seed),
        config.batch_size,
        config.n_positions,
        config.seed,
        config.placeholders,
    )
    deadline = started + max_minutes * 60 if max_minutes else None
    model.train()
    steps_done, smoothed = 0, None
    with tqdm(total=config.steps, desc="training", unit="step", disable=quiet, file=sys.stderr) as bar:
        for step in range(config.steps):
            if deadline and time.monotonic() > deadline:
                log(f"time budget of {max_minutes} min reached after {step} steps: saving what we have")
                break
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(config, step)
            loss = model(**next(data)).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            steps_done = step + 1
            smoothed = loss.item() if smoothed is None else 0.95 * smoothed + 0.05 * loss.item()
            bar.set_postfix(loss=f"{smoothed:.3f}")
            bar.update()
    train_seconds = time.monotonic() - started
    cpu_seconds = time.process_time() - cpu_started

    model.eval()
    held_loss = held_out_loss(model, tokenizer, config)
    passed, samples = fact_pass_share(model, tokenizer, config.eval_generations, config.seed)
    metrics = {
        "parameters": parameters,
        "vocab_size": len(tokenizer),
        "steps": steps_done,
        "train_seconds": round(train_seconds, 1),
        "train_cpu_seconds": round(cpu_seconds, 1),
        "held_out_loss": round(held_loss, 4),
        "fact_pass_share": round(passed, 4),
        "config": asdict(config),
    }
    save(model, tokenizer, metrics, out)
    log(f"held-out loss {held_loss:.4f} ({config.held_out} examples)")
    log(f"facts kept in {passed:.0%} of {config.eval_generations} held-out greedy replies")
    for language, facts, reply, ok in samples[:4]:
        log(f"  [{'ok' if ok else 'FAIL'}] {language} {dict(facts)} -> {reply}")
    log(f"training took {train_seconds:.0f} s ({cpu_seconds:.0f} s of CPU) for {steps_done} steps")
    log(f"saved to {out} after {time.monotonic() - started:.0f} s")
    return metrics


@torch.no_grad()
def held_out_loss(model: GPT2LMHeadModel, tokenizer: PreTrainedTokenizerFast, config: TrainConfig) -> float:
    """Mean token loss on the reply (and template) tokens of held-out examples."""
    examples = corpus.held_out_examples(config.held_out, config.seed)
    total, tokens = 0.0, 0
    for start in range(0, len(examples), 32):
        batch = collate(
            [encode(tokenizer, e, config.placeholders) for e in examples[start : start + 32]],
            tokenizer.pad_token_id,
            config.n_positions,
        )
        counted = int((batch["labels"][:, 1:] != -100).sum())
        total += model(**batch).loss.item() * counted
        tokens += counted
    return total / max(1, tokens)


@torch.no_grad()
def fact_pass_share(
    model: GPT2LMHeadModel, tokenizer: PreTrainedTokenizerFast, n: int, seed: int
) -> tuple[float, list[tuple[str, dict, str, bool]]]:
    """Share of ``n`` held-out situations whose greedy reply keeps every fact and adds no number."""
    samples = []
    for language, facts, template in corpus.held_out_situations(n, seed):
        reply = fill_facts(generate(model, tokenizer, language, facts, template), facts)
        samples.append((language, facts, reply, keeps_facts(reply, facts)))
    return sum(ok for *_, ok in samples) / max(1, n), samples


def generate(model, tokenizer, language: str, facts: dict[str, str], template: str) -> str:
    prompt = tokenizer.apply_chat_template(
        messages(language, facts, template), add_generation_prompt=True, tokenize=False
    )
    ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")
    output = model.generate(**ids, do_sample=False, max_new_tokens=160)
    return tokenizer.decode(output[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)


_NUMBER = re.compile(r"\d")


def keeps_facts(reply: str, facts: dict[str, str]) -> bool:
    """A simple local version of the fact guard: every value verbatim, no digit outside them, and no
    placeholder left unfilled."""
    if "{" in reply or any(value not in reply for value in facts.values()):
        return False
    rest = reply
    for value in sorted(facts.values(), key=len, reverse=True):
        rest = rest.replace(value, " ")
    return not _NUMBER.search(rest)


def save(model: GPT2LMHeadModel, tokenizer: PreTrainedTokenizerFast, metrics: dict, out: Path) -> None:
    """Write into a sibling temp folder, then swap it in: readers see the old model or the new one."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    (staging / "training.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    previous = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        out.rename(previous)
    staging.rename(out)
    shutil.rmtree(previous, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "models" / "llm")
    parser.add_argument("--seed", type=int, default=TrainConfig.seed)
    parser.add_argument("--max-minutes", type=float, default=9.0, help="stop training then, and still save")
    parser.add_argument("--steps", type=int, default=TrainConfig.steps)
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    parser.add_argument("--learning-rate", type=float, default=TrainConfig.learning_rate)
    parser.add_argument("--n-embd", type=int, default=TrainConfig.n_embd)
    parser.add_argument("--n-layer", type=int, default=TrainConfig.n_layer)
    parser.add_argument("--n-head", type=int, default=TrainConfig.n_head)
    parser.add_argument(
        "--threads", type=int, default=TrainConfig.threads, help="torch threads (results depend on it)"
    )
    args = parser.parse_args(argv)
    config = TrainConfig(
        seed=args.seed,
        steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        n_embd=args.n_embd,
        n_layer=args.n_layer,
        n_head=args.n_head,
        threads=args.threads,
    )
    train(config, args.out, max_minutes=args.max_minutes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
