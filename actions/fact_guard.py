"""The reply guard: a phrased reply is sent only if it says what its template says, facts exact.

A wrong order number or a sentence that claims the wrong thing is worse than a plain template, so every
check is strict and the template wins whenever one fails. A reply passes only when:

- it is not empty and is a whole sentence (not cut at ``max_tokens``);
- no ``{placeholder}``, fact name or chat-template token is left in it;
- every fact value appears exactly as often as in the template, and every number or id-like token
  (digits, or numbers written in words: 一百二十, "two hundred") comes from a fact or the template;
- it is in the reply's language;
- it says every word of the order domain (a state, an action, a thing: see ``reply_vocabulary``) that
  the template says and no other, has as many negations as the template, and claims nothing was done
  where the template does not;
- it repeats no phrase the template does not repeat, its brackets pair up, and it is neither far
  shorter nor far longer.

Each failure has a reason code (``REASONS``), counted in the action server's metrics.
Pure Python (plus jieba): the action server (Python 3.10) and the benchmarks (3.11) both use it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from actions import reply_vocabulary
from actions.reply_vocabulary import Vocabulary

REASONS = (
    "empty",
    "cut_off",
    "placeholder",
    "fact_count",
    "invented_number",
    "language",
    "domain_word",
    "missing_word",
    "negation",
    "claims_done",
    "repeated",
    "brackets",
    "length",
)

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
# Everyday words made of numeral characters that state no number (十分 = very, 万一 = in case).
_CHINESE_IDIOMS = re.compile(
    r"十分|万一|千万|百忙|一一|一些|一下|一起|一直|一定|一切|一旦|一般|一样|统一|唯一|之一"
)
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_PLACEHOLDER_MARKS = re.compile(r"[{}]|<\|")
_SNAKE_NAME = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")
_SENTENCE_END = ".!?。！？…"
_CLOSERS = "\"'”’）)]】」』 "
_GAP = " \u2060 "  # where a fact stood: a word break that no check reads as text


_BRACKETS = ("()", "（）", "[]", "【】", "「」", "“”")


def _unbalanced(text: str, opening: str, closing: str) -> bool:
    depth = 0
    for char in text:
        depth += (char == opening) - (char == closing)
        if depth < 0:
            return True
    return depth != 0


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reason: str = ""  # one of REASONS when not passed
    detail: str = ""


def _fail(reason: str, detail: str) -> Verdict:
    return Verdict(False, reason, detail)


def _chinese_numbers(text: str) -> list[str]:
    text = _CHINESE_IDIOMS.sub("，", text)
    found = []
    for match in _CHINESE_NUMERAL.finditer(text):
        run = match.group()
        after = text[match.end() : match.end() + 1]
        if len(run) > 1 or _CHINESE_NUMBER_UNIT.match(after):
            found.append(run)
    return found


def _occurrences(value: str, text: str) -> int:
    """How often ``value`` stands in ``text`` as a whole token (the 3 of SO-1003 is not a 3)."""
    edge_before = r"(?<![A-Za-z0-9])" if value[:1].isalnum() else ""
    edge_after = r"(?![A-Za-z0-9])" if value[-1:].isalnum() else ""
    return len(re.findall(edge_before + re.escape(value) + edge_after, text))


def _without_facts(text: str, values: list[str]) -> str:
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, _GAP)
    return text


def _is_whole(reply: str, template: str, values: list[str]) -> bool:
    end = reply.rstrip(_CLOSERS)
    if end and end[-1] in _SENTENCE_END:
        return True
    # A reply may end on a fact where its template does ("... is here: {url}").
    return any(reply.rstrip().endswith(value) and template.rstrip().endswith(value) for value in values)


def _repeats(text: str, language: str) -> set[str]:
    """Phrases said twice: a three-character run (Chinese) or a word pair (English) anywhere, and a word
    or a two-character word said twice in a row ("Order Order", 订单订单)."""
    repeated = set()
    if language == "zh":
        chars = [c for c in text if _CJK.match(c)]
        grams = ["".join(chars[i : i + 3]) for i in range(len(chars) - 2)]
        repeated |= {m.group(1) * 2 for m in re.finditer(r"([\u3400-\u9fff]{2})\1", text)}
    else:
        words = reply_vocabulary.english_words(text)
        grams = [" ".join(words[i : i + 2]) for i in range(len(words) - 1)]
        repeated |= {f"{a} {b}" for a, b in zip(words, words[1:], strict=False) if a == b}
    seen = set()
    for gram in grams:
        (repeated if gram in seen else seen).add(gram)
    return repeated


def check(
    reply: str,
    facts: Mapping[str, str],
    template: str = "",
    *,
    language: str | None = None,
    finish_reason: str | None = None,
    vocabulary: Vocabulary | None = None,
) -> Verdict:
    """Whether ``reply`` may replace ``template`` (which has the ``facts`` filled in)."""
    if not reply.strip():
        return _fail("empty", "empty reply")
    if finish_reason == "length":
        return _fail("cut_off", "the model stopped at max_tokens")
    vocabulary = vocabulary or reply_vocabulary.default()
    text = reply.translate(_FULL_WIDTH_DIGITS).strip()
    template = template.translate(_FULL_WIDTH_DIGITS)
    values = [str(value) for value in facts.values() if str(value).strip()]
    skeleton = _without_facts(template, values)
    # The reply's language is its template's (the facts may be in either).
    language = language or ("zh" if _CJK.search(skeleton) else "en")

    if _PLACEHOLDER_MARKS.search(text):
        return _fail("placeholder", "a placeholder or a chat-template token is left")
    bare = _without_facts(text, values)
    # A fact's name left in the reply (order_id, tracking_number), unless the template says it too.
    for name in {*(n for n in facts if "_" in n), *_SNAKE_NAME.findall(bare)}:
        word = rf"\b{re.escape(name)}\b"
        if re.search(word, bare) and not re.search(word, template, re.IGNORECASE):
            return _fail("placeholder", f"the fact name {name!r} is left")

    for name, value in facts.items():
        value = str(value)
        if not value.strip():
            continue
        wanted = max(_occurrences(value, template), 1)
        found = _occurrences(value, text)
        if found != wanted:
            return _fail("fact_count", f"fact {name} ({value!r}) appears {found} times, not {wanted}")

    known = " ".join([*values, template])
    known_tokens = set(_ID_LIKE.findall(known))
    for token in _ID_LIKE.findall(text):  # whole tokens: the 3 of SF1234567890 is not a fact
        if token not in known_tokens:
            return _fail("invented_number", f"{token!r} is not one of the facts")
    # Words for numbers, unless the template or a fact says the same words (一次性, "one of").
    for words in _chinese_numbers(text) + _ENGLISH_NUMBER_WORDS.findall(text):
        if words.lower() not in known.lower():
            return _fail("invented_number", f"number in words {words!r} is not one of the facts")

    if not _is_whole(text, template, values):
        return _fail("cut_off", "the reply does not end as a sentence does")
    if language == "zh":
        if not _CJK.search(bare):
            return _fail("language", "a Chinese reply without Chinese")
        allowed = {word.lower() for word in _LATIN_WORD.findall(skeleton)}
        stray = [w for w in _LATIN_WORD.findall(bare) if w.lower() not in allowed]
        if stray:
            return _fail("language", f"English words in a Chinese reply: {stray[:3]}")
    elif _CJK.search(bare):
        return _fail("language", "Chinese characters in an English reply")

    said, meant = vocabulary.terms(bare, language), vocabulary.terms(skeleton, language)
    if said - meant:
        return _fail("domain_word", f"says {sorted(said - meant)[:3]}, which the template does not")
    if meant - said:
        return _fail("missing_word", f"leaves out {sorted(meant - said)[:3]}, which the template says")
    negations = reply_vocabulary.chinese_negations if language == "zh" else reply_vocabulary.english_negations
    if negations(bare) != negations(skeleton):
        return _fail("negation", f"{negations(bare)} negations where the template has {negations(skeleton)}")
    claims = reply_vocabulary.done_claims(bare, language) - reply_vocabulary.done_claims(skeleton, language)
    if claims:
        return _fail("claims_done", f"claims {sorted(claims)[0]!r}, which the template does not")
    repeated = _repeats(bare, language) - _repeats(skeleton, language)
    if repeated:
        return _fail("repeated", f"repeats {sorted(repeated)[0]!r}")
    for opening, closing in _BRACKETS:
        if _unbalanced(bare, opening, closing) and not _unbalanced(skeleton, opening, closing):
            return _fail("brackets", f"{opening}{closing} do not pair up")
    size, expected = len(bare.strip()), len(skeleton.strip())
    if size < 0.5 * expected or size > 2.5 * expected + 40:
        return _fail("length", f"{size} characters around the facts where the template has {expected}")
    return Verdict(True)
