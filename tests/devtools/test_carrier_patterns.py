"""data/nlu/carriers.yml is config/carriers.yml's carriers and formats, as the NLU matches them."""

import re

import yaml

from devtools import carrier_patterns
from orders.adapters.carriers_file import load_carriers


def nlu_regexes(name: str) -> list[str]:
    data = yaml.safe_load(carrier_patterns.NLU_FILE.read_text(encoding="utf-8"))
    return [
        line[2:]
        for item in data["nlu"]
        if item.get("regex") == name
        for line in item["examples"].splitlines()
        if line.startswith("- ")
    ]


def found(name: str, text: str) -> list[str]:
    """What Rasa's RegexEntityExtractor would extract (it matches case-insensitively)."""
    return [m.group() for regex in nlu_regexes(name) for m in re.finditer(regex, text, flags=re.IGNORECASE)]


def test_the_nlu_file_is_generated_from_the_carriers_file():
    assert carrier_patterns.main(["check"]) == 0, "run `python -m devtools.carrier_patterns write`"


def test_every_example_number_of_every_carrier_is_recognised_in_a_sentence():
    carriers = yaml.safe_load(carrier_patterns.CARRIERS_FILE.read_text(encoding="utf-8"))["carriers"]
    checker = load_carriers(carrier_patterns.CARRIERS_FILE)
    for name, entry in carriers.items():
        example = entry["tracking"]["example"]
        for text in (
            example,
            f"ship SO-1003 with {name}, number {example.lower()}",
            f"运单号{example}，已发货",
        ):
            assert example.lower() in [m.lower() for m in found("tracking_number", text)], (name, text)
        assert checker.check_tracking_number(name, example) == (name, example)


def test_a_fourteen_digit_zto_number_and_not_a_mobile_phone():
    assert found("tracking_number", "SO-1003 中通 78912345678901") == ["78912345678901"]
    assert found("tracking_number", "my phone is 13812345678") == []
    assert found("tracking_number", "call +8613812345678") == []
    assert found("tracking_number", "SO-1003") == []


def test_every_carrier_name_and_alias_is_recognised():
    carriers = yaml.safe_load(carrier_patterns.CARRIERS_FILE.read_text(encoding="utf-8"))["carriers"]
    for name, entry in carriers.items():
        for alias in [name, *entry.get("aliases", [])]:
            matches = [m.lower() for m in found("carrier", f"ship it with {alias} please")]
            assert alias.lower() in matches, (name, alias, matches)  # the whole name, not a part of it
    assert found("carrier", "these items are EMSy") == []  # a Latin name is a whole word
