"""The NLU's carrier names and tracking-number patterns, generated from config/carriers.yml.

config/carriers.yml is the one place where carriers, their aliases and their tracking-number formats
are written: the order service validates shipments with it, and the assistant recognises carriers and
tracking numbers with the regular expressions and synonyms this writes to data/nlu/carriers.yml (the
Makefile regenerates it before training; a test fails when the two differ).

    python -m devtools.carrier_patterns write [CARRIERS_FILE]   # (re)write data/nlu/carriers.yml
    python -m devtools.carrier_patterns check [CARRIERS_FILE]   # exit 1 when it is out of date
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

from orders.config import PROJECT_ROOT

CARRIERS_FILE = PROJECT_ROOT / "config" / "carriers.yml"
NLU_FILE = PROJECT_ROOT / "data" / "nlu" / "carriers.yml"

# A Chinese mobile number (11 digits from 13x to 19x) is a phone, never a tracking number: customers
# type theirs to prove who they are.
_NOT_A_MOBILE = r"(?!1[3-9]\d{9}(?![0-9]))"
_DIGITS_ONLY = re.compile(r"^(?:\\d(?:\{\d+(?:,\d+)?\})?|\[0-9\](?:\{\d+(?:,\d+)?\})?)+$")


def _alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a regular expression (``A|B`` -> [A, B])."""
    parts, depth, start, escaped = [], 0, 0, False
    for i, character in enumerate(pattern):
        if escaped:
            escaped = False
        elif character == "\\":
            escaped = True
        elif character in "([":
            depth += 1
        elif character in ")]":
            depth -= 1
        elif character == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
    parts.append(pattern[start:])
    return parts


def tracking_regexes(carriers: dict) -> list[str]:
    """One expression per format a carrier accepts, standing alone in the text (Rasa matches them
    case-insensitively; the order service upper-cases a number before checking it)."""
    found: list[str] = []
    for entry in carriers.values():
        pattern = ((entry or {}).get("tracking") or {}).get("pattern")
        for alternative in _alternatives(pattern) if pattern else []:
            if _DIGITS_ONLY.match(alternative):  # digits only: not after + or - (a phone, an order id)
                regex = rf"(?<![0-9A-Za-z+-]){_NOT_A_MOBILE}(?:{alternative})(?![0-9A-Za-z])"
            else:
                regex = rf"(?<![0-9A-Za-z])(?:{alternative})(?![0-9A-Za-z])"
            if regex not in found:
                found.append(regex)
    return found


def _names(name: str, entry: dict) -> list[str]:
    return [name, *((entry or {}).get("aliases") or [])]


def carrier_regexes(carriers: dict) -> list[str]:
    """Every carrier name and alias: Latin ones as whole words, Chinese ones anywhere; longest first,
    so that "SF Express" is one match, not "SF"."""
    names = {str(n) for name, entry in carriers.items() for n in _names(name, entry)}
    names = sorted(names, key=lambda n: (-len(n), n))  # longest first; the same file every run
    latin = [n for n in names if n.isascii()]
    chinese = [n for n in names if not n.isascii()]
    regexes = []
    if latin:
        regexes.append(rf"(?<![a-z])(?:{'|'.join(re.escape(n.lower()) for n in latin)})(?![a-z0-9])")
    if chinese:
        regexes.append("|".join(re.escape(n) for n in chinese))
    return regexes


def render(carriers_file: Path = CARRIERS_FILE) -> str:
    carriers = (yaml.safe_load(Path(carriers_file).read_text(encoding="utf-8")) or {}).get("carriers") or {}
    lines = [
        "# Generated from config/carriers.yml by `python -m devtools.carrier_patterns write` (the Makefile",
        "# runs it before training): edit carriers.yml, not this file.",
        'version: "3.1"',
        "nlu:",
        "  - regex: carrier",
        "    examples: |",
        *(f"      - {regex}" for regex in carrier_regexes(carriers)),
    ]
    for name, entry in carriers.items():
        aliases = [str(alias) for alias in _names(name, entry)[1:]]
        if aliases:
            lines += [f"  - synonym: {name}", "    examples: |", *(f"      - {alias}" for alias in aliases)]
    lines += ["  - regex: tracking_number", "    examples: |"]
    lines += [f"      - {regex}" for regex in tracking_regexes(carriers)]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("write", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    source = Path(argv[1]) if len(argv) > 1 else CARRIERS_FILE
    text = render(source)
    if argv[0] == "write":
        NLU_FILE.write_text(text, encoding="utf-8")
        return 0
    current = NLU_FILE.read_text(encoding="utf-8") if NLU_FILE.is_file() else ""
    if current != text:
        print(f"{NLU_FILE} is out of date: run `python -m devtools.carrier_patterns write`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
