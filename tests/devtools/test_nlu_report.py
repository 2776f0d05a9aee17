"""The NLU report's gate: what counts as a change of the data, and when `make test` fails on it."""

from __future__ import annotations

from devtools import nlu_report


def test_a_comment_is_not_a_change_of_what_the_model_learns(tmp_path):
    data = tmp_path / "nlu.yml"
    data.write_text("nlu:\n- intent: greet\n  examples: |\n    - hi\n", encoding="utf-8")
    before = nlu_report._meaning(data)
    data.write_text("# greetings\nnlu:\n- intent: greet  # short ones\n  examples: |\n    - hi\n")
    assert nlu_report._meaning(data) == before
    data.write_text("nlu:\n- intent: greet\n  examples: |\n    - hello\n", encoding="utf-8")
    assert nlu_report._meaning(data) != before


def test_python_comments_do_not_count_but_code_does(tmp_path):
    code = tmp_path / "component.py"
    code.write_text("x = 1\n", encoding="utf-8")
    before = nlu_report._meaning(code)
    code.write_text("# why x is one\nx = 1  # still one\n", encoding="utf-8")
    assert nlu_report._meaning(code) == before
    code.write_text("x = 2\n", encoding="utf-8")
    assert nlu_report._meaning(code) != before


def test_a_broken_file_still_fingerprints_by_its_bytes(tmp_path):
    broken = tmp_path / "config.yml"
    broken.write_text("pipeline: [unclosed\n", encoding="utf-8")
    assert nlu_report._meaning(broken) == broken.read_bytes()


def _report(tmp_path, monkeypatch, intent_f1: float, fingerprint: str | None = None):
    report = tmp_path / "nlu_cross_validation.md"
    report.write_text(
        f"data fingerprint: `{fingerprint or nlu_report.fingerprint()}`.\n\n"
        f"- macro intent F1: **{intent_f1:.3f}** (goal >= 0.95)\n"
        "- macro entity F1 (RegexEntityExtractor): **0.990** (goal >= 0.95)\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(nlu_report, "REPORT", report)


def test_check_passes_a_current_report_over_the_goal(tmp_path, monkeypatch):
    _report(tmp_path, monkeypatch, 0.956)
    assert nlu_report.check() == 0


def test_check_fails_a_report_under_the_goal(tmp_path, monkeypatch):
    _report(tmp_path, monkeypatch, 0.949)
    assert nlu_report.check() == 1


def test_check_asks_for_a_new_run_when_the_data_changed(tmp_path, monkeypatch):
    _report(tmp_path, monkeypatch, 0.99, fingerprint="0000000000000000")
    assert nlu_report.check() == 3
    monkeypatch.setattr(nlu_report, "REPORT", tmp_path / "missing.md")
    assert nlu_report.check() == 3
