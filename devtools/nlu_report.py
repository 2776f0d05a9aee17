"""The NLU cross-validation report, reports/nlu_cross_validation.md, and its check.

    python -m devtools.nlu_report write RESULTS_DIR   # from `rasa test nlu --cross-validation` output
    python -m devtools.nlu_report check               # is the committed report of the current data?

The report carries a fingerprint of what the NLU learns from (data/nlu, config.yml, domain.yml,
bot/nlu); `check` exits 3 when it no longer matches, so `make test` reruns the cross-validation only
when the data changed. Both exit 1 when macro intent F1 or macro entity F1 (order numbers, carriers,
tracking numbers, states, dates; not the language tag, which is not learned) is under 0.95.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "reports" / "nlu_cross_validation.md"
GOAL = 0.95
SKIP = {"accuracy", "macro avg", "weighted avg", "micro avg", "no_entity"}


def _table(report: dict, label: str) -> list[str]:
    rows = [f"| {label} | precision | recall | F1 | examples |", "| --- | --- | --- | --- | --- |"]
    for name, scores in sorted(report.items()):
        if name in SKIP or not isinstance(scores, dict):
            continue
        rows.append(
            f"| {name} | {scores['precision']:.3f} | {scores['recall']:.3f} | {scores['f1-score']:.3f} "
            f"| {scores['support']} |"
        )
    return rows


def fingerprint() -> str:
    digest = hashlib.sha256()
    inputs = [
        *sorted((ROOT / "data" / "nlu").rglob("*")),
        ROOT / "config.yml",
        ROOT / "domain.yml",
        *sorted((ROOT / "bot" / "nlu").glob("*.py")),
    ]
    for path in inputs:
        if path.is_file():
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + _meaning(path) + b"\0")
    return digest.hexdigest()[:16]


def _meaning(path: Path) -> bytes:
    """What the model learns from ``path``: parsed YAML or Python, so that an edited comment does not
    cost a cross-validation run (and the report stays valid); other files byte for byte."""
    text = path.read_bytes()
    try:
        if path.suffix in (".yml", ".yaml"):
            return json.dumps(yaml.safe_load(text), sort_keys=True, ensure_ascii=False, default=str).encode()
        if path.suffix == ".py":
            return ast.dump(ast.parse(text)).encode()
    except (yaml.YAMLError, SyntaxError, ValueError):
        pass  # Rasa will say what is wrong with it; the raw bytes still fingerprint it
    return text


def check() -> int:
    if not REPORT.is_file():
        return 3
    text = REPORT.read_text(encoding="utf-8")
    recorded = re.search(r"data fingerprint: `(\w+)`", text)
    if not recorded or recorded.group(1) != fingerprint():
        print("NLU data changed since the last cross-validation: running it again")
        return 3
    scores = [float(f) for f in re.findall(r"F1[^*]*\*\*([0-9.]+)\*\*", text)]
    print("\n".join(line for line in text.splitlines() if line.startswith("- ")))
    return 0 if scores and min(scores) >= GOAL else 1


def main(argv: list[str]) -> int:
    if argv and argv[0] == "check":
        return check()
    results, out = Path(argv[1]), REPORT
    intents = json.loads((results / "intent_report.json").read_text())
    # LanguageDetector tags each message with its language and learns nothing: not an extractor to score.
    entity_files = [
        p
        for p in results.glob("*_report.json")
        if p.name != "intent_report.json"
        and "response" not in p.name
        and not p.name.startswith("LanguageDetector")
    ]
    entity_reports = {p.stem.removesuffix("_report"): json.loads(p.read_text()) for p in entity_files}
    intent_f1 = intents["macro avg"]["f1-score"]
    lines = [
        "# NLU cross-validation (5 folds)",
        "",
        "Written by `make nlu-report` from `rasa test nlu --cross-validation --folds 5` on `data/nlu`;",
        f"data fingerprint: `{fingerprint()}`.",
        "",
        f"- macro intent F1: **{intent_f1:.3f}** (goal >= {GOAL})",
    ]
    entity_f1s = {}
    for extractor, report in sorted(entity_reports.items()):
        learned = {
            k: v for k, v in report.items() if k not in SKIP and k != "language" and isinstance(v, dict)
        }
        if not learned:
            continue
        entity_f1s[extractor] = sum(v["f1-score"] for v in learned.values()) / len(learned)
        lines.append(f"- macro entity F1 ({extractor}): **{entity_f1s[extractor]:.3f}** (goal >= {GOAL})")
    lines += ["", "## Intents", "", *_table(intents, "intent")]
    for extractor, report in sorted(entity_reports.items()):
        lines += [
            "",
            f"## Entities ({extractor})",
            "",
            *_table({k: v for k, v in report.items() if k != "language"}, "entity"),
        ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(line for line in lines if line.startswith("- ")))
    failed = intent_f1 < GOAL or any(f1 < GOAL for f1 in entity_f1s.values()) or not entity_f1s
    if failed:
        print(f"NLU cross-validation under the goal of {GOAL}: see {out}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
