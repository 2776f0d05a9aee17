"""What users get from the phrasing path with the default model: broken replies, phrased share, latency.

Held-out situations (every phrased response of domain.yml x both languages x freshly drawn facts, at
least 400) go through the action server's own ``Phraser`` against the LLM server (its own process, on
loopback), 16 conversations at a time, with the production timeout (LLM_TIMEOUT, 1.5 s by default).
What the user would get (the phrasing, or the template) is read by the strict checker (the reply guard:
placeholders, state and action words, language, cut-off sentences, repeated facts). The anchor is the
same model's raw answers sent without any guard.

    python -m benchmarks.phrasing [MODEL_DIR]   -> the table; 40 delivered replies (20 per language)
                                                    drawn at random are written to var/bench/
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from benchmarks.table import Row, percentile

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = 16
PER_CELL = int(os.environ.get("BENCH_PHRASING_PER_CELL", "13"))  # 16 responses x 2 languages x 13 = 416
SAMPLES_FILE = ROOT / "var" / "bench" / "phrasing-samples.txt"


@dataclass
class Outcome:
    situation: str
    language: str
    facts: dict[str, str]
    template: str
    raw: str  # the model's answer, placeholders filled
    delivered: str  # what the user gets
    phrased: bool
    reason: str  # the guard's reason when refused, or the client's outcome (timeout, error)
    seconds: float


def held_out(per_cell: int = PER_CELL, seed: int = 2026) -> list[tuple[str, str, dict, str]]:
    """(situation, language, facts, template) for every phrased response and language, ``per_cell``
    each, from the held-out stream (the training never drew these)."""
    from orderbot_common.phrasing import LANGUAGES

    from llm_server.corpus import SITUATIONS, held_out_examples

    examples = held_out_examples(per_cell * len(SITUATIONS) * len(LANGUAGES), seed)
    return [(e.situation, e.language, dict(e.facts), e.template) for e in examples]


async def _phrase_all(base_url: str, situations: list, timeout_s: float) -> list[Outcome]:
    from actions.phraser import Phraser
    from benchmarks.llm import MODEL_NAME

    # Built as the action server builds it: its client settings and defaults (max_tokens, prompt bound).
    phraser = Phraser.from_env(
        {"LLM_BASE_URL": base_url, "LLM_MODEL": MODEL_NAME, "LLM_TIMEOUT": str(timeout_s)}
    )
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(name: str, language: str, facts: dict, template: str) -> Outcome:
        async with limit:
            started = time.perf_counter()
            attempt = await phraser.attempt(language, facts, template)
            seconds = time.perf_counter() - started
        reason = attempt.verdict.reason if attempt.outcome == "guard_rejected" else attempt.outcome
        delivered = attempt.reply or template
        return Outcome(
            name, language, facts, template, attempt.answer, delivered, bool(attempt.reply), reason, seconds
        )

    async with phraser.client:
        return await asyncio.gather(*(one(*situation) for situation in situations))


def broken(outcome: Outcome, text: str) -> str:
    """The strict checker's reason why ``text`` is broken as ``outcome``'s reply, or ''."""
    from actions import fact_guard

    verdict = fact_guard.check(text, outcome.facts, outcome.template, language=outcome.language)
    return "" if verdict.passed else verdict.reason


def written_by_people(outcome: Outcome) -> bool:
    """Whether a phrased reply is one of the corpus's own sentences with these facts."""
    from llm_server.corpus import SITUATIONS

    situation = next(s for s in SITUATIONS if s.name == outcome.situation)
    return any(
        p.format(**outcome.facts).strip() == outcome.delivered for p in situation.phrasings[outcome.language]
    )


def rows(model_dir: Path) -> list[Row]:
    from benchmarks.llm import served

    situations = held_out()
    timeout_s = float(os.environ.get("LLM_TIMEOUT", "1.5"))
    print(
        f"phrasing: {len(situations)} held-out situations, {CONCURRENCY} at a time ...",
        file=sys.stderr,
        flush=True,
    )
    with served(model_dir) as base_url:
        asyncio.run(_phrase_all(base_url, situations[:CONCURRENCY], 30.0))  # warm-up
        outcomes = asyncio.run(_phrase_all(base_url, situations, timeout_s))
        one_at_a_time = asyncio.run(_phrase_sequential(base_url, situations[:32], timeout_s))

    delivered_broken = [o for o in outcomes if broken(o, o.delivered)]
    unguarded_broken = [o for o in outcomes if o.raw and broken(o, o.raw)]
    phrased = [o for o in outcomes if o.phrased]
    novel = [o for o in phrased if not written_by_people(o)]
    reasons = Counter(o.reason for o in outcomes if not o.phrased)
    latencies = [o.seconds for o in outcomes if o.reason not in ("error",)]
    sequential = [o.seconds for o in one_at_a_time]
    _write_samples(outcomes, novel)
    for o in delivered_broken:
        print(f"phrasing: BROKEN delivered [{o.language}] {o.delivered!r}", file=sys.stderr)
    from orderbot_common.phrasing import KEPT_PLAIN

    n = len(outcomes)
    table = [
        Row(
            f"phrasing: delivered replies broken under the strict checker, {n} held-out (anchor: no guard)",
            len(delivered_broken),
            len(unguarded_broken),
            "replies",
            "0",
            higher_is_better=False,
        ),
        Row(
            f"  replies sent phrased, of {n} that carry facts (anchor: every model answer)",
            100 * len(phrased) / n,
            100.0,
            "%",
            ">= 70 % (aim)",
        ),
        Row(
            "  phrased replies that are not one of the corpus's sentences (read them: var/bench/)",
            len(novel),
            len(phrased),
            "replies",
            "report",
            higher_is_better=False,
        ),
        Row(
            f"  responses kept plain on purpose ({', '.join(sorted(KEPT_PLAIN))})",
            len(KEPT_PLAIN),
            len(KEPT_PLAIN),
            "responses",
            "report",
        ),
    ]
    for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
        table.append(Row(f"  template sent: {reason}", count, n, "replies", "report", higher_is_better=False))
    table += [
        Row(
            f"  phrasing latency p50, {CONCURRENCY} concurrent (anchor: one at a time)",
            1000 * percentile(latencies, 50, "inclusive"),
            1000 * percentile(sequential, 50, "inclusive"),
            "ms",
            "report",
            higher_is_better=False,
        ),
        Row(
            "  phrasing latency p95",
            1000 * percentile(latencies, 95, "inclusive"),
            1000 * percentile(sequential, 95, "inclusive"),
            "ms",
            f"< LLM_TIMEOUT ({timeout_s * 1000:.0f} ms)",
            higher_is_better=False,
        ),
    ]
    return table


async def _phrase_sequential(base_url: str, situations: list, timeout_s: float) -> list[Outcome]:
    outcomes = []
    for situation in situations:
        outcomes += await _phrase_all(base_url, [situation], timeout_s)
    return outcomes


def _write_samples(outcomes: list[Outcome], novel: list[Outcome]) -> None:
    rng = random.Random(time.time_ns())
    lines = []
    for language in ("en", "zh"):
        chosen = rng.sample([o for o in outcomes if o.language == language], 20)
        lines += [f"[{language}] {'phrased ' if o.phrased else 'template'} | {o.delivered}" for o in chosen]
    lines += ["", "phrased replies that are not one of the corpus's sentences:"]
    lines += [f"[{o.language}] {o.delivered}" for o in novel] or ["(none)"]
    lines += ["", "refused model answers (the template was sent):"]
    lines += [f"[{o.language}] {o.reason}: {o.raw}" for o in outcomes if not o.phrased and o.raw][:60]
    SAMPLES_FILE.parent.mkdir(parents=True, exist_ok=True)
    SAMPLES_FILE.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"phrasing: 40 delivered replies drawn at random are in {SAMPLES_FILE}", file=sys.stderr)


def main(argv: list[str]) -> int:
    from benchmarks.table import render

    model_dir = Path(argv[0]) if argv else ROOT / "models" / "llm"
    print(render(rows(model_dir)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
