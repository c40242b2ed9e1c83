"""Firmware console in real Chromium against the live stack: an operator starts a firmware campaign from
the form and watches both real agents move to committed on the campaign's live page (it reloads itself)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.agent.update import rig
from tests.e2e.conftest import LiveStack
from tests.e2e.firmware.test_firmware_campaign import N1, agents, api, releases  # noqa: F401  (fixtures)
from tests.e2e.test_console_browser import chromium, log_in, shot  # noqa: F401  (fixtures)

pytestmark = pytest.mark.e2e

COMMIT_TIMEOUT_MS = 300_000  # bounded wait: download, install, restart and health check of two agents


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:  # noqa: F811
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    yield tab
    context.close()


def test_start_a_firmware_campaign_in_the_console_and_watch_devices_commit(
    live_stack: LiveStack,
    api: httpx.Client,  # noqa: F811
    agents: list[tuple[str, rig.Device]],  # noqa: F811
    page: Page,
) -> None:
    (code0, canary), (code1, other) = agents
    log_in(page, live_stack.url, live_stack.admin_username, live_stack.admin_password)
    page.goto(f"{live_stack.url}/console/firmware/?lang=en")
    assert page.get_by_test_id(f"fw-release-agent-{N1}").is_visible()
    page.get_by_test_id("fw-name").fill("night-agent-update")
    page.get_by_test_id("fw-release").select_option(f"agent-{N1}")
    page.get_by_test_id("fw-stations").fill(f"{code0}, {code1}")
    page.get_by_test_id("fw-canary").fill(code0)
    shot(page, "fw-01-new-campaign")
    page.get_by_test_id("fw-start").click()
    page.wait_for_url("**/console/firmware/campaigns/*")
    for device in (canary, other):
        page.wait_for_selector(
            f'[data-testid="fw-state-{device.device_id}"][data-state="committed"]', timeout=COMMIT_TIMEOUT_MS
        )
    shot(page, "fw-02-committed")
    page.wait_for_selector('[data-testid="fw-campaign-state"]:has-text("finished")', timeout=60_000)
    assert page.get_by_test_id("fw-count-committed").inner_text().strip().endswith("2")
    page.goto(f"{live_stack.url}/console/firmware/devices/{canary.device_id}?lang=en")
    assert page.get_by_test_id("fw-agent-version").inner_text().strip() == N1
    assert page.get_by_test_id("fw-agent-slot").inner_text().strip() == "b"
