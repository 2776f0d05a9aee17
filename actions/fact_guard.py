"""The fact guard: a phrased reply may be sent only if it states every fact exactly and invents none.

A wrong order number, amount or tracking number is worse than a plain sentence, so the check is strict:
every fact value must appear verbatim, and every number or id-like token of the reply must come from a
fact or from the template itself. Numbers written in words (一百二十, "two hundred") count as numbers
too, so a model cannot restate an amount in a form this check cannot compare.

Pure Python on purpose: the action server (Python 3.10) and the benchmarks (3.11) both use it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# A run of letters, digits and joiners that holds at least one digit: SO-1001, 129.00, 2026-11-30,
# SF1234567890, INV-2026-000123, 3. Full-width digits are folded to ASCII before matching.
_ID_LIKE = re.compile(r"[A-Za-z0-9]*[0-9][A-Za-z0-9]*(?:[-./:_][A-Za-z0-9]+)*")
_CHINESE_NUMERAL = re.compile(r"[零〇一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟]+")
# A lone numeral character is mostly grammar (再说一遍); a count or amount has several or a unit.
_CHINESE_NUMBER_UNIT = re.compile(r"^[个件元块天日号月年位张份箱次单笔]")
_ENGLISH_NUMBER_WORDS = re.compile(
    r"\b(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|"
    r"ninety|hundred|thousand|million|billion|dozen)\b",
    re.IGNORECASE,
)
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reason: str = ""


# Everyday words made of numeral characters that state no number (十分 = very, 万一 = in case).
_CHINESE_IDIOMS = re.compile(
    r"十分|万一|千万|百忙|一一|一些|一下|一起|一直|一定|一切|一旦|一般|一样|统一|唯一|之一"
)


def _chinese_numbers(text: str) -> list[str]:
    text = _CHINESE_IDIOMS.sub("，", text)
    found = []
    for match in _CHINESE_NUMERAL.finditer(text):
        run = match.group()
        after = text[match.end() : match.end() + 1]
        if len(run) > 1 or _CHINESE_NUMBER_UNIT.match(after):
            found.append(run)
    return found


def check(reply: str, facts: Mapping[str, str], template: str = "") -> Verdict:
    """Whether ``reply`` may replace ``template``: all of ``facts`` kept, nothing number-like added."""
    if not reply.strip():
        return Verdict(False, "empty reply")
    text = reply.translate(_FULL_WIDTH_DIGITS)
    values = [str(value) for value in facts.values() if str(value).strip()]
    for name, value in facts.items():
        if str(value).strip() and str(value) not in text:
            return Verdict(False, f"fact {name} ({value!r}) is missing or changed")
    known = " ".join([*values, template])
    known_tokens = set(_ID_LIKE.findall(known.translate(_FULL_WIDTH_DIGITS)))
    for token in _ID_LIKE.findall(text):  # whole tokens: the 3 of SF1234567890 is not a fact
        if token not in known_tokens:
            return Verdict(False, f"{token!r} is not one of the facts")
    # Words for numbers, unless the template or a fact says the same words (一次性, "one of").
    for words in _chinese_numbers(text) + _ENGLISH_NUMBER_WORDS.findall(text):
        if words.lower() not in known.lower():
            return Verdict(False, f"number in words {words!r} is not one of the facts")
    return Verdict(True)
