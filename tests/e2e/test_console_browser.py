"""Console in real Chromium against the live stack: log in, watch the demo device go offline and back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PRESENCE_TIMEOUT_MS = 90_000  # bounded waits, not timing assertions: the list polls every 3 s
CHART_TIMEOUT_S = 150.0  # VictoriaMetrics hides the newest ~30 s of samples from queries by default


class LiveStack(Protocol):
    """The contract of the ``live_stack`` fixture in tests/e2e/conftest.py."""

    url: str
    admin_username: str
    admin_password: str
    demo_device_id: str
    demo_station_id: int

    def stop_agent(self) -> None: ...

    def start_agent(self) -> None: ...


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def console_page(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/console/")
    page.wait_for_url("**/console/login**")
    page.get_by_test_id("username").fill(username)
    page.get_by_test_id("password").fill(password)
    shot(page, "01-login")
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(f"{base}/console/")
    assert page.get_by_test_id("current-user").inner_text().startswith(username)


def wait_for_state(page: Page, device_id: str, state: str) -> None:
    """Wait (bounded) until the live badge shows ``state``; the page itself must update it, no reload."""
    selector = f'[data-testid="status-{device_id}"][data-state="{state}"]'
    page.wait_for_selector(selector, timeout=PRESENCE_TIMEOUT_MS)
    label = {"online": "在线", "offline": "离线"}[state]
    assert page.get_by_test_id(f"status-{device_id}").inner_text().strip() == label


def wait_for_values(page: Page, device_id: str) -> None:
    """Latest CPU, memory and uptime cells filled in (server render or the live refresh)."""
    for metric in ("cpu_pct", "mem_pct", "uptime_s"):
        cell = f'[data-testid="latest-{device_id}-{metric}"]'
        page.wait_for_function(
            "sel => { const el = document.querySelector(sel); return el && el.textContent.trim() !== '–'; }",
            arg=cell,
            timeout=PRESENCE_TIMEOUT_MS,
        )


def wait_for_chart_line(page: Page, device_id: str) -> None:
    """Poll (bounded) for a drawn rx line (ECharts' SVG, rx points counted by chart.js); reloads so
    each try asks the history API afresh."""
    chart = f'[data-testid="chart-{device_id}"]'
    deadline = time.monotonic() + CHART_TIMEOUT_S
    while True:
        page.wait_for_selector(f'{chart} [data-chart-ready="1"] svg path', state="attached")
        if int(page.locator(chart).get_attribute("data-rx-points") or 0) > 0:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"no rx line in the bandwidth chart of {device_id} after {CHART_TIMEOUT_S:.0f} s")
        page.wait_for_timeout(5_000)
        page.reload()


def run_walkthrough(stack: Any, page: Page) -> None:
    """The user journey; shared with manual runs against a seeded controller."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    base, device = stack.url.rstrip("/"), stack.demo_device_id
    list_url = f"{base}/console/?q={quote(device)}"

    log_in(page, base, stack.admin_username, stack.admin_password)
    page.goto(list_url)
    wait_for_state(page, device, "online")
    shot(page, "02-list-online")

    page.get_by_test_id(f"station-link-{stack.demo_station_id}").first.click()
    page.wait_for_url(f"{base}/console/stations/{stack.demo_station_id}")
    wait_for_values(page, device)
    wait_for_chart_line(page, device)
    shot(page, "03-station")

    page.goto(list_url)
    stack.stop_agent()
    try:
        wait_for_state(page, device, "offline")
        assert int(page.get_by_test_id("count-offline").inner_text()) >= 1
        shot(page, "04-list-offline")
    finally:
        stack.start_agent()
    wait_for_state(page, device, "online")
    shot(page, "05-list-online-again")
    assert errors == [], f"JavaScript errors on the console pages: {errors}"


def test_console_follows_the_demo_agent(live_stack: LiveStack, console_page: Page) -> None:
    run_walkthrough(live_stack, console_page)
