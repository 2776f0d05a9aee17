"""The training corpus of orderbot's default phrasing model, generated from ``situations`` (whose
templates are domain.yml's responses).

Every example is one reply situation in one language with freshly drawn facts, its plain template, and
one of several friendly phrasings: facts vary per example, so the model must learn to copy them.
Training and held-out examples come from separate random streams (fresh fact draws either way).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from orderbot_common.phrasing import LANGUAGES

from llm_server.corpus.situations import SITUATIONS, Facts, Situation

__all__ = [
    "SITUATIONS",
    "Example",
    "Situation",
    "domain_characters",
    "draw_example",
    "held_out_examples",
    "held_out_situations",
    "training_examples",
]

# Situations with more facts are harder to copy: sample them more often.
_WEIGHTS = [1.0 + 0.5 * len(s.draw(random.Random(0), "en")) for s in SITUATIONS]
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


@dataclass(frozen=True)
class Example:
    situation: str
    language: str
    facts: Facts
    template: str
    reply: str
    skeleton: str  # the reply with {fact} placeholders, what the default model learns to write


def draw_example(
    rng: random.Random, situation: Situation | None = None, language: str | None = None
) -> Example:
    situation = situation or rng.choices(SITUATIONS, weights=_WEIGHTS)[0]
    language = language or rng.choice(LANGUAGES)
    facts = situation.draw(rng, language)
    template = situation.template[language].format(**facts).strip()
    skeleton = rng.choice(situation.phrasings[language])
    reply = skeleton.format(**facts).strip()
    if rng.random() < 0.25:  # the caller's fact order is its own: don't let the model rely on ours
        names = list(facts)
        rng.shuffle(names)
        facts = {name: facts[name] for name in names}
    return Example(situation.name, language, facts, template, reply, skeleton)


def training_examples(seed: int) -> Iterator[Example]:
    """An endless, deterministic stream of training examples."""
    rng = random.Random(f"train-{seed}")
    while True:
        yield draw_example(rng)


def held_out_examples(n: int, seed: int) -> list[Example]:
    """``n`` examples from the held-out stream, cycling through every situation and language."""
    rng = random.Random(f"held-out-{seed}")
    cells = [(s, lang) for s in SITUATIONS for lang in LANGUAGES]
    return [draw_example(rng, *cells[i % len(cells)]) for i in range(n)]


def held_out_situations(n: int, seed: int = 1234) -> list[tuple[str, Facts, str]]:
    """``n`` held-out (language, facts, template) requests, deterministic in ``seed``: what the
    benchmark sends to measure the share of replies that keep every fact."""
    return [(e.language, e.facts, e.template) for e in held_out_examples(n, seed)]


def domain_characters(repo_root: Path) -> str:
    """Every CJK character (and CJK punctuation) the assistant's domain uses: the corpus, domain.yml
    and the Chinese NLU data, so the tokenizer has a token for each."""
    texts = []
    for situation in SITUATIONS:
        texts += situation.template.values()
        for phrasings in situation.phrasings.values():
            texts += phrasings
    from llm_server.corpus import facts

    texts += [label for labels in facts.STATES.values() for label in labels.values()]
    texts += [alias for aliases, _ in facts.CARRIERS.values() for alias in aliases]
    for path in [repo_root / "domain.yml", *sorted((repo_root / "data").rglob("*.yml"))]:
        if path.is_file():
            texts.append(path.read_text(encoding="utf-8"))
    return "".join(sorted(set(_CJK.findall("".join(texts)))))
