"""The words of the order domain, read from what the assistant itself says: domain.yml's responses, the
state labels (orders/domain/labels.py) and the carriers (config/carriers.yml).

The reply guard uses them to tell a paraphrase from a reply that says something else: a phrased reply
may use a domain word (a state, an action, a thing such as an invoice or a ticket) only where its
template does. Nothing here lists domain words by hand; the only hand-written lists are grammar (words
that carry no order meaning in any reply), negations and the phrases that claim an action was done.

Pure Python plus jieba (to cut Chinese into words), so the action server and the benchmarks share it.
"""

# ruff: noqa: SIM905 (word lists read better as text)

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from orderbot_common.phrasing import PLACEHOLDER

ROOT = Path(__file__).resolve().parent.parent

_ENGLISH_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")

# Grammar and courtesy: words that say nothing about orders in any reply.
ENGLISH_GRAMMAR = frozenset(
    """
    a an the and or but so of to in on at by for with from as into about via per than then
    is are was were be been being am it its it's this that these those there here
    i i'm i'd i'll me my we we're we'll our us you you're you'll your yours they their them he she
    has have had do does did can could will would shall should may might must
    just also now right currently still already soon only very too more most some any all each every
    moment
    please thanks thank sorry hello hi sure ok okay great good news glad happy afraid unfortunately
    what which who when where why how if whether because while once
    like e g eg s again back few get give keep mean really say tell want help anything else example try
    together along
    """.split()
)
CHINESE_GRAMMAR = frozenset(
    """
    您好 我们 您的 我的 请问 可以 还有 其他 如果 或者 以及 例如 比如 目前 当前 现在 已经 为了 一下
    哪个 哪家 什么 多少 这个 那个 好的 谢谢 抱歉 感谢 请您 如需 需要 就是 还是 并且 然后 之后 以后
    任何 信息 告诉 尽快 帮助 意思 我会 才能 提供 暂时 问题 相关 稍后 只能 只有 客气 一步 时留 感谢您 重试 再试
    点击
    """.split()
)
# Negations: a reply must have as many as its template ("cannot be cancelled" is not "can be").
ENGLISH_NEGATIONS = frozenset(
    "not no never cannot can't won't don't doesn't didn't isn't aren't wasn't weren't hasn't haven't "
    "nothing none nobody nor".split()
)
_CHINESE_NEGATION = re.compile(r"[不没未无非别勿]")
# Courtesy phrases made of negation characters that negate nothing.
_CHINESE_NEGATION_IDIOMS = re.compile(r"非常|不客气|不好意思|不用谢|并非")
# Phrases that claim an action was carried out: only where the template claims it too.
ENGLISH_DONE = (
    "done",
    "completed",
    "complete",
    "successfully",
    "succeeded",
    "all set",
    "taken care",
    "i have",
    "i've",
    "we have",
    "we've",
    "i did",
    "for you",
)
CHINESE_DONE = ("已完成", "完成", "成功", "已为您", "为您", "帮您", "替您", "搞定", "办好", "处理好")


def english_words(text: str) -> list[str]:
    return _ENGLISH_WORD.findall(text.lower().replace("\u2019", "'"))


def stem(word: str) -> str:
    """A light suffix stripper, enough to see confirm/confirmed/confirmation or ship/shipped/shipment
    as one word. Over-eager cuts only make the guard stricter, never looser."""
    for suffix in ("ations", "ation", "ments", "ment", "ings", "ing", "ed", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiou":
        word = word[:-1]  # shipp -> ship, cancell -> cancel
    return word.rstrip("e") if len(word) > 3 else word


def english_negations(text: str) -> int:
    words = english_words(text)
    return sum(word in ENGLISH_NEGATIONS or word.endswith("n't") for word in words)


def chinese_negations(text: str) -> int:
    return len(_CHINESE_NEGATION.findall(_CHINESE_NEGATION_IDIOMS.sub("，", text)))


def done_claims(text: str, language: str) -> set[str]:
    if language == "zh":
        return {phrase for phrase in CHINESE_DONE if phrase in text}
    lowered = " " + " ".join(english_words(text)) + " "
    return {phrase for phrase in ENGLISH_DONE if f" {phrase} " in lowered}


@dataclass(frozen=True)
class Vocabulary:
    english: frozenset[str]  # stems of the English domain words
    chinese: tuple[str, ...]  # Chinese domain words, longest first

    def english_terms(self, text: str) -> set[str]:
        return {stem(word) for word in english_words(text) if word not in ENGLISH_GRAMMAR} & self.english

    def chinese_terms(self, text: str) -> set[str]:
        return {term for term in self.chinese if term in text}

    def terms(self, text: str, language: str) -> set[str]:
        """The domain words of ``text``: English stems, and Chinese words where the reply is Chinese."""
        found = self.english_terms(text)
        if language == "zh":
            found |= self.chinese_terms(text)
        return found


def _response_texts(domain: Mapping[str, Any]) -> dict[str, list[str]]:
    texts: dict[str, list[str]] = {"en": [], "zh": []}
    for variants in (domain.get("responses") or {}).values():
        for variant in variants or []:
            text = PLACEHOLDER.sub(" ", variant.get("text") or "")
            conditions = {
                c.get("value") for c in variant.get("condition") or [] if c.get("name") == "language"
            }
            for language in conditions or {"en", "zh"}:
                texts.setdefault(language, []).append(text)
    return texts


def _carrier_names(carriers_file: Path) -> list[str]:
    carriers = (yaml.safe_load(carriers_file.read_text(encoding="utf-8")) or {}).get("carriers") or {}
    names = []
    for name, spec in carriers.items():
        names += [str(name), *(str(alias) for alias in (spec or {}).get("aliases") or [])]
    return names


def _state_labels() -> dict[str, list[str]]:
    from orders.domain.labels import PAYMENT_LABELS, STATUS_LABELS

    labels: dict[str, list[str]] = {"en": [], "zh": []}
    for by_language in [*STATUS_LABELS.values(), *PAYMENT_LABELS.values()]:
        for language, label in by_language.items():
            labels[language].append(label)
    return labels


@functools.cache
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)  # it announces its dictionary on every start
    return jieba.Tokenizer()


def chinese_words(text: str) -> list[str]:
    return [word for run in _CJK_RUN.findall(text) for word in _jieba().lcut(run)]


def build(english_texts: Iterable[str], chinese_texts: Iterable[str]) -> Vocabulary:
    english = {stem(word) for text in english_texts for word in english_words(text)}
    # Grammar, negations and claims of "done" are checked on their own, not as domain words.
    claims = {word for phrase in ENGLISH_DONE for word in phrase.split()}
    english -= {stem(word) for word in ENGLISH_GRAMMAR | ENGLISH_NEGATIONS | claims}
    chinese = {
        word
        for text in chinese_texts
        for word in chinese_words(text)
        if len(word) >= 2
        and word not in CHINESE_GRAMMAR
        and not _CHINESE_NEGATION.fullmatch(word[0])
        and not any(word in claim or claim in word for claim in CHINESE_DONE)
    }
    return Vocabulary(frozenset(english), tuple(sorted(chinese, key=lambda w: (-len(w), w))))


def load(domain_file: Path, carriers_file: Path) -> Vocabulary:
    domain = yaml.safe_load(domain_file.read_text(encoding="utf-8")) or {}
    texts = _response_texts(domain)
    labels = _state_labels()
    carriers = _carrier_names(carriers_file)
    english = [*texts["en"], *labels["en"], *carriers]
    chinese = [*texts["zh"], *labels["zh"], *carriers]
    return build(english, chinese)


@functools.cache
def default() -> Vocabulary:
    """The vocabulary of this checkout's domain.yml, state labels and carriers (ORDERBOT_CARRIERS)."""
    carriers = Path(os.environ.get("ORDERBOT_CARRIERS") or ROOT / "config" / "carriers.yml")
    return load(ROOT / "domain.yml", carriers)
