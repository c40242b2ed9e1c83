"""The portal in real Chromium inside the phone's namespace (390×844, zh-CN): SMS flow, kick, voucher flow.

Chromium runs in the client namespace itself (Playwright's driver is started with this thread inside it),
so it is captured by the router's splash responder exactly like a phone, and reaches only what the phone can.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, ViewportSize, sync_playwright

from tests.e2e.portal import flows, probes
from tests.e2e.portal.phone import sms_code
from tests.e2e.portal.topology import INTERNET, PortalRig
from tests.support.netns import entered

pytestmark = pytest.mark.e2e

ARTIFACTS = flows.ARTIFACTS
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE_VIEWPORT: ViewportSize = {"width": 390, "height": 844}
SMS_PHONE = "13900139002"


@pytest.fixture(scope="module")
def phone_browser(portal_rig: PortalRig) -> Iterator[Browser]:
    """Chromium inside cli1's namespace (the driver and the browser inherit this thread's namespace)."""
    flows.enable_portal(portal_rig)
    with entered(portal_rig.ns["cli1"]):
        pw: Playwright = sync_playwright().start()
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    try:
        yield browser
    finally:
        browser.close()
        pw.stop()


@pytest.fixture
def page(phone_browser: Browser) -> Iterator[Page]:
    context = phone_browser.new_context(
        viewport=PHONE_VIEWPORT, locale="zh-CN", is_mobile=True, has_touch=True, device_scale_factor=2
    )
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    yield tab
    context.close()


def shot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def landed_on_portal(page: Page, rig: PortalRig) -> None:
    """Open any web page: the router redirects the browser to the controller's login page, in Chinese."""
    page.goto(flows.LANDING)
    page.wait_for_url(f"{rig.url}/portal/**")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.title() == "免费 WiFi 登录"


def test_sms_flow_in_chromium(page: Page, portal_rig: PortalRig) -> None:
    rig = portal_rig
    landed_on_portal(page, rig)
    shot(page, "01-sms-login-page")
    page.locator("#phone").fill(SMS_PHONE)
    sent_after = int(time.time() * 1000) - 1000
    page.get_by_test_id("send-code").click()
    page.get_by_test_id("verify-form").wait_for()
    shot(page, "02-sms-code-sent")
    page.locator("#code").fill(sms_code(rig.sms_outbox, SMS_PHONE, after_ms=sent_after))
    page.get_by_test_id("accept-terms-sms").check()
    page.get_by_test_id("verify").click()
    page.get_by_test_id("connected").wait_for()
    assert page.get_by_test_id("connected").inner_text() == "已连接，可以上网了"
    assert page.get_by_test_id("original-url").get_attribute("href") == flows.LANDING
    shot(page, "03-sms-connected")
    flows.wait_online(rig, "cli1")
    page.goto(f"http://{INTERNET}/")
    assert "internet-ok" in page.content()


def test_voucher_flow_in_chromium(page: Page, portal_rig: PortalRig) -> None:
    rig = portal_rig
    session = flows.active_session(rig, "cli1")
    with rig.api() as api:  # log the phone out so it meets the portal again
        api.post(f"/api/v1/portal/sessions/{session['id']}/kick").raise_for_status()
    flows.measure_cut(rig, "cli1", since=time.time(), limit_s=30)
    (code,) = flows.create_vouchers(rig)
    landed_on_portal(page, rig)
    shot(page, "04-voucher-login-page")
    page.locator("#voucher").fill(code.lower())  # villagers type it as they like; the portal normalises
    page.get_by_test_id("accept-terms-voucher").check()
    shot(page, "05-voucher-filled")
    page.get_by_test_id("use-voucher").click()
    page.get_by_test_id("connected").wait_for()
    shot(page, "06-voucher-connected")
    flows.wait_online(rig, "cli1")
    assert probes.probe_is_204(rig.ns["cli1"], INTERNET)
