"""Chromium (Debian's package, driven by Playwright) against the chat page and the staff console.

Two servers: ``order_service`` is the order service alone (a real HTTP server in a thread, with the
hub) over the sample orders, for what needs no assistant; ``stack`` is the whole stack as `make run`
starts it (tests/e2e/conftest.py), for the conversations.
"""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed in .venv (requirements/app.txt)"
)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip(
        "no Chromium on the PATH: apt-get install -y chromium chromium-driver (no browser is downloaded)",
        allow_module_level=True,
    )

from orders.adapters import database  # noqa: E402
from orders.config import PROJECT_ROOT, Settings  # noqa: E402
from orders.domain.access import Actor, Role, Source  # noqa: E402
from orders.entrypoints import web  # noqa: E402
from orders.service_layer import services, users  # noqa: E402
from orders.service_layer.setup import import_from  # noqa: E402
from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.e2e.conftest import stack  # noqa: E402,F401  (the whole stack, started once per session)
from tests.orders.conftest import HEADER, SHANGHAI, LiveServer, settings_for, write_csv  # noqa: E402

SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"
PASSWORD = "browser-test-password"
STAFF = {"wang": Role.WAREHOUSE, "fang": Role.FINANCE, "mei": Role.OPERATIONS}
SAMPLES = PROJECT_ROOT / "data" / "samples" / "erp_orders.csv"

if web.missing_vendor_files():
    pytest.skip(f"web/node_modules is not installed: run `{web.INSTALL_HINT}`", allow_module_level=True)


XSS_NAME = '<img src=x onerror="window.__xss=1">'


def add_history(engine, tmp: Path) -> None:
    """Data for the charts beyond the samples: an import with a quarantined row, and a settlement of
    yesterday (of an order whose customer's name is markup: it must show as text everywhere)."""
    yesterday = (datetime.now(SHANGHAI) - timedelta(days=1)).date()
    rows = [
        ["SO-9001", "C-900", XSS_NAME, "x@example.com", "13800009001", "50.00"],
        ["SO-9002", "C-901", "Bad Amount", "y@example.com", "13800009002", "fifty"],
    ]
    header = HEADER + ["status", "due_date"]
    dated = [
        r + ["2026-11-01 09:00:00", "2026-11-02 09:00:00", "shipped", yesterday.isoformat()] for r in rows
    ]
    import_from(engine, write_csv(tmp / "history.csv", header, dated), SHANGHAI)
    services.settle_day(SqlAlchemyUnitOfWork(engine), yesterday, Actor("fang", Role.FINANCE, Source.REST))
    add_conversations(engine)


def add_conversations(engine) -> None:
    """Conversation events as Rasa's broker publishes them, yesterday and today, for the chart."""
    from orders.service_layer.analytics import record_rasa_events
    from tests.orders.domain.test_conversation_turns import action, user

    bodies = []
    for days_ago, turns in ((1, 6), (0, 4)):
        noon = (datetime.now(SHANGHAI) - timedelta(days=days_ago)).replace(hour=12, minute=0).timestamp()
        for n in range(turns):
            at = noon + 60 * n
            intent = "nlu_fallback" if n == 0 else ("order_status" if n % 2 else "greet")
            answer = "action_two_stage_fallback" if n == 0 else "action_order_status"
            sender = f"web-{days_ago}-{n}"
            bodies += [
                user(sender, at, intent),
                action(sender, at + 0.1, answer),
                action(sender, at + 0.2, "action_listen"),
            ]
    record_rasa_events(engine, bodies)


def add_staff(engine) -> None:
    for name, role in STAFF.items():
        users.add_user(SqlAlchemyUnitOfWork(engine), name, PASSWORD, role, name.title())


@pytest.fixture(scope="session")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


class Browsing:
    """A browser context (one person: its own sessionStorage) that records what would betray a bug:
    JavaScript errors, CSP violations, failed requests, and every URL it asked for. ``bypass_csp``: the
    pages' Content-Security-Policy is not enforced (only for tests that inject a script of their own,
    like the accessibility check's axe-core)."""

    def __init__(self, browser, locale: str = "en-US", bypass_csp: bool = False) -> None:
        self.context = browser.new_context(
            locale=locale, viewport={"width": 1400, "height": 1000}, bypass_csp=bypass_csp
        )
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.urls: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        self.page.on(
            "console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text} {m.location}")
        )
        self.page.on("request", lambda request: self.urls.append(request.url))
        self.page.on("websocket", lambda socket: self.urls.append(socket.url))

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def person(browser):
    """A factory of people, each in their own browser context; closed after the test."""
    opened: list[Browsing] = []

    def open_one(locale: str = "en-US", bypass_csp: bool = False) -> Browsing:
        opened.append(Browsing(browser, locale, bypass_csp))
        return opened[-1]

    yield open_one
    for one in opened:
        one.close()


@contextlib.contextmanager
def serving_samples(tmp: Path, history: bool = False) -> Iterator[LiveServer]:
    """The order service over the sample orders (plus ``add_history`` when ``history``) and the staff
    users, on a loopback port, with the hub; the pages find no assistant (nobody listens at Rasa's URL)."""
    url = f"sqlite:///{tmp / 'orders.db'}"
    database.upgrade(url)
    engine = database.make_engine(url)
    import_from(engine, SAMPLES, SHANGHAI)
    if history:
        add_history(engine, tmp)
    add_staff(engine)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RASA_PUBLIC_URL", f"http://127.0.0.1:{free_port()}")
        server = LiveServer(engine, settings_for(url, tmp))
        server.engine = engine
        try:
            yield server
        finally:
            server.close()
    engine.dispose()


@pytest.fixture(scope="session")
def order_service(tmp_path_factory):
    """The order service over the sample orders, their history and the staff users (shared)."""
    with serving_samples(tmp_path_factory.mktemp("web"), history=True) as server:
        yield server


@pytest.fixture(scope="session")
def stack_staff(stack):  # noqa: F811
    """Staff users in the running stack's database."""
    engine = database.make_engine(Settings.from_env(stack.env).database_url)
    add_staff(engine)
    engine.dispose()
    return stack


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / name


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
