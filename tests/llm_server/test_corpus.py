"""The training corpus follows domain.yml: what the model learns to rephrase is what the bot sends."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from orderbot_common.phrasing import KEPT_PLAIN, LANGUAGES, placeholders

from actions.fact_guard import check
from llm_server.corpus import SITUATIONS
from llm_server.corpus.situations import fingerprint, templates

BY_NAME = {situation.name: situation for situation in SITUATIONS}


def test_every_response_with_facts_is_phrased_by_the_corpus_or_kept_plain_on_purpose():
    with_facts = {name for name, texts in templates().items() if any(placeholders(t) for t in texts.values())}
    assert set(KEPT_PLAIN) <= with_facts, "KEPT_PLAIN names a response that is not in domain.yml"
    missing = with_facts - set(KEPT_PLAIN) - set(BY_NAME)
    assert not missing, f"responses with facts and no phrasings in llm_server/corpus/situations.py: {missing}"
    assert not set(BY_NAME) & set(KEPT_PLAIN)
    assert set(BY_NAME) <= with_facts, (
        "the corpus phrases a response that domain.yml has not (or has no facts)"
    )


@pytest.mark.parametrize("situation", SITUATIONS, ids=lambda s: s.name)
def test_the_phrasings_were_written_for_the_template_domain_yml_has_now(situation):
    assert set(situation.template) == set(LANGUAGES), f"{situation.name} needs an en and a zh variant"
    assert situation.written_for == fingerprint(situation.template), (
        f"{situation.name} changed in domain.yml: read its phrasings in llm_server/corpus/situations.py "
        f"again, fix them, and set written_for to {fingerprint(situation.template)!r}"
    )


@pytest.mark.parametrize("situation", SITUATIONS, ids=lambda s: s.name)
def test_facts_and_placeholders_are_the_templates_own(situation):
    rng = random.Random(situation.name)
    for language in LANGUAGES:
        wanted = Counter(placeholders(situation.template[language]))
        assert set(situation.draw(rng, language)) == set(wanted)
        for phrasing in situation.phrasings[language]:
            assert Counter(placeholders(phrasing)) == wanted, phrasing
            assert not any(c.isdigit() for c in phrasing.format(**{n: "" for n in wanted})), phrasing


@pytest.mark.parametrize("situation", SITUATIONS, ids=lambda s: s.name)
def test_every_phrasing_passes_the_reply_guard_with_any_facts(situation):
    rng = random.Random(f"guard-{situation.name}")
    for language in LANGUAGES:
        for phrasing in situation.phrasings[language]:
            for _ in range(25):
                facts = situation.draw(rng, language)
                template = situation.template[language].format(**facts).strip()
                verdict = check(phrasing.format(**facts).strip(), facts, template, language=language)
                assert verdict.passed, f"{phrasing!r} with {facts}: {verdict.reason}: {verdict.detail}"
