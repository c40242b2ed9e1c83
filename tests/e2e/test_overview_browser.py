"""The overview in real Chromium: after login the landing page shows the demo lesson `make run` schedules
for the demo station and the demo station's region online, then, without a reload, its DeviceOffline alert
(with the station) once the agent stops, cleared when the agent is back; it also fits a phone in English."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from station_controller.devstack.demo_lesson import DEMO_LESSON_TITLE
from tests.e2e.alerting.conftest import DEMO_STATION_CODE, AlertStack
from tests.e2e.alerting.conftest import alert_stack as alert_stack  # the fixture, with short tolerances

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "overview"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ALERT_TIMEOUT_MS = 120_000  # bounded wait: tolerance 15 s + evaluation + routing + a 5 s poll


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page: Page, stack: AlertStack) -> None:
    page.goto(f"{stack.url}/console/login")
    page.get_by_test_id("username").fill("admin")
    page.get_by_test_id("password").fill(stack.admin_password)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(f"{stack.url}/console/overview/")  # the landing page, no ``next`` given


def demo_lesson(stack: AlertStack) -> dict[str, Any]:
    """The lesson the dev stack schedules for the demo station (devstack/demo_lesson.py), live for 12 h."""
    with stack.api() as api:
        rows = [r for r in api.get("/api/v1/lessons").json() if r["title"] == DEMO_LESSON_TITLE]
    assert len(rows) == 1, rows
    assert rows[0]["stations"] == [DEMO_STATION_CODE]
    return dict(rows[0])


def test_overview_shows_the_demo_station_and_its_alert_live(
    alert_stack: AlertStack, chromium: Browser
) -> None:
    stack = alert_stack
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        lesson = demo_lesson(stack)
        log_in(page, stack)
        card = page.locator(f'[data-testid="ov-lesson-{lesson["id"]}"]')
        card.wait_for(state="attached")
        assert DEMO_LESSON_TITLE in card.inner_text()
        region = "/".join(stack.demo_region.split("/")[:2])
        page.wait_for_selector(f'[data-testid="ov-regions"] li[data-region="{region}"]')
        page.wait_for_function(
            "() => Number(document.querySelector('[data-testid=ov-online]').textContent) >= 1"
        )
        page.wait_for_selector('#ov-regions[data-chart-ready="1"] svg', state="attached")
        data = page.evaluate("() => fetch('/console/overview/data.json').then(r => r.json())")
        states = {row["id"]: row["state"] for row in data["lessons"] or []}
        assert states.get(lesson["id"]) == "live"  # the demo lesson runs now, for 12 h
        for lesson in data["lessons"] or []:  # today's lessons, when the lessons feature has any
            card = page.locator(f'[data-testid="ov-lesson-{lesson["id"]}"]')
            card.wait_for(state="attached")
            assert lesson["title"] in card.inner_text()
        shot(page, "01-overview-online")

        polls_before = int(page.get_attribute("#overview", "data-polls") or 0)
        stack.stop_agent()
        try:
            alert = f'[data-testid="ov-alert-DeviceOffline-{stack.demo_device_id}"]'
            page.wait_for_selector(alert, timeout=ALERT_TIMEOUT_MS)
            assert DEMO_STATION_CODE in page.locator(alert).inner_text()
            assert int(page.get_attribute("#overview", "data-polls") or 0) > polls_before  # live, no reload
            assert int(page.get_by_test_id("ov-firing").inner_text()) >= 1
            shot(page, "02-overview-alert")
        finally:
            stack.start_agent()
        page.wait_for_selector(alert, state="detached", timeout=ALERT_TIMEOUT_MS)

        phone = chromium.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
        mobile = phone.new_page()
        log_in(mobile, stack)
        mobile.goto(f"{stack.url}/console/overview/?lang=en")
        mobile.wait_for_selector('#ov-regions[data-chart-ready="1"]', state="attached")
        assert "Devices online" in mobile.inner_text("#overview")
        width = mobile.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390 + 1, f"the overview scrolls sideways on a phone ({width}px)"
        shot(mobile, "03-overview-phone-en")
        phone.close()
    finally:
        context.close()
    assert errors == [], f"JavaScript errors on the overview: {errors}"
