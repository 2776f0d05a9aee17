"""Accessibility (issue 21): axe-core over the chat page and the staff console, each view in English and
Chinese, against the order service alone. No violation of impact "serious" or "critical" may remain.

axe-core is a test-only npm package (web/package.json; never served by the app's /vendor route): the
test injects web/node_modules/axe-core/axe.min.js into the page, in a browser context that bypasses the
pages' Content-Security-Policy (script-src 'self') for that one script.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable

import pytest

from orders.config import PROJECT_ROOT
from tests.browser.pages import customer_signs_in, open_order, staff_signs_in

AXE = PROJECT_ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
if not AXE.is_file():
    pytest.skip(
        f"axe-core is not installed ({AXE.relative_to(PROJECT_ROOT)} is missing): run `make web` "
        "(npm ci --prefix web --no-audit --no-fund)",
        allow_module_level=True,
    )

PlaywrightTimeout = pytest.importorskip("playwright.sync_api").TimeoutError

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
FAILING_IMPACTS = ("serious", "critical")
LANGUAGES = {"en": "en-US", "zh": "zh-CN"}
ORDER, CONTACT = "SO-1018", "noah.brown@example.com"
STAFF_USER = "mei"  # operations: every tab of the console
CONSOLE_TABS = ("orders", "handoffs", "import", "charts")


def settle(page) -> None:
    """Let the view finish what it loads (the board's rows, a chart's data) before it is checked."""
    with contextlib.suppress(PlaywrightTimeout):  # a view that keeps polling is checked as it is
        page.wait_for_load_state("networkidle", timeout=5_000)
    page.wait_for_timeout(300)  # the last rendering after the last response


def choose_language(page, base_url: str, path: str, language: str) -> None:
    """Open ``path`` and pick ``language`` with the page's own switch (remembered for later loads)."""
    page.goto(f"{base_url}{path}")
    switch = page.locator(f"[data-language={language}]")
    if switch.count():
        switch.first.click()
    expect_language(page, language)


def expect_language(page, language: str) -> None:
    page.wait_for_function(
        "language => document.documentElement.lang.toLowerCase().startsWith(language)",
        arg=language,
        timeout=5_000,
    )


def chat_signin(page, base_url: str, language: str) -> None:
    choose_language(page, base_url, "/", language)


def chat_conversation(page, base_url: str, language: str) -> None:
    choose_language(page, base_url, "/", language)
    customer_signs_in(page, base_url, ORDER, CONTACT)


def console_signin(page, base_url: str, language: str) -> None:
    choose_language(page, base_url, "/console", language)


def console_tab(tab: str) -> Callable[[object, str, str], None]:
    def open_tab(page, base_url: str, language: str) -> None:
        choose_language(page, base_url, "/console", language)
        staff_signs_in(page, base_url, STAFF_USER)
        page.click(f"[data-tab={tab}]")
        page.wait_for_selector(f"#tab-{tab}:not([hidden])")
        if tab == "orders":
            page.wait_for_selector("tr[data-order-id]")

    return open_tab


def console_order_detail(page, base_url: str, language: str) -> None:
    console_tab("orders")(page, base_url, language)
    open_order(page, ORDER)


VIEWS: dict[str, Callable[[object, str, str], None]] = {
    "chat-signin": chat_signin,
    "chat-conversation": chat_conversation,
    "console-signin": console_signin,
    **{f"console-{tab}": console_tab(tab) for tab in CONSOLE_TABS},
    "console-order-detail": console_order_detail,
}


def run_axe(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    results = page.evaluate(
        "async options => await axe.run(document, options)",
        {"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]},
    )
    return results["violations"]


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']} <{violation['helpUrl']}>"
        )
        for node in violation["nodes"]:
            target = " >> ".join(
                json.dumps(part) if not isinstance(part, str) else part for part in node["target"]
            )
            lines.append(f"    {target}  [{node.get('impact') or violation['impact']}]")
            html = " ".join((node.get("html") or "").split())
            if html:
                lines.append(f"      {html[:160]}{' ...' if len(html) > 160 else ''}")
            summary = (node.get("failureSummary") or "").strip().replace("\n", " | ")
            if summary:
                lines.append(f"      {summary}")
    return "\n".join(lines)


@pytest.mark.parametrize("language", list(LANGUAGES))
@pytest.mark.parametrize("view", list(VIEWS))
def test_no_serious_or_critical_accessibility_violations(order_service, person, view, language):
    visitor = person(locale=LANGUAGES[language], bypass_csp=True)
    VIEWS[view](visitor.page, order_service.url, language)
    expect_language(visitor.page, language)
    settle(visitor.page)
    violations = run_axe(visitor.page)
    failing = [v for v in violations if v["impact"] in FAILING_IMPACTS]
    others = [v for v in violations if v["impact"] not in FAILING_IMPACTS]
    if others:  # shown with -rA / -s; they do not fail the check
        print(f"\n{view} [{language}] minor/moderate:\n{describe(others)}")
    assert not failing, (
        f"{view} [{language}]: {len(failing)} serious or critical accessibility violation(s) (axe-core):\n"
        + describe(failing)
    )
