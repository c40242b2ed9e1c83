"""Chromium: register a station by CSV import in the console, start a job on it, watch it complete."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.conftest import LiveStack
from tests.e2e.test_console_browser import ARTIFACTS, chromium, log_in

pytestmark = pytest.mark.e2e
__all__ = ["chromium"]  # the module-scoped browser fixture, shared with the console walkthrough
SHOTS = ARTIFACTS.parent / "provisioning"


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_register_by_csv_then_run_a_job_to_completion(
    live_stack: LiveStack, page: Page, tmp_path: Path
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    base = live_stack.url.rstrip("/")
    code = f"BR-{uuid.uuid4().hex[:6].upper()}"
    csv = tmp_path / "stations.csv"
    csv.write_text(
        "station_code,station_name,region_path,role,serial,mac,tags\n"
        f"{code},浏览器测试站,河南省/南阳市/唐河县/桐寨铺镇/新村,stb,SN-{code}-S,,\n"
        f"{code},浏览器测试站,河南省/南阳市/唐河县/桐寨铺镇/新村,router,SN-{code}-R,,\n",
        encoding="utf-8",
    )
    log_in(page, base, live_stack.admin_username, live_stack.admin_password)

    page.goto(f"{base}/console/register")
    page.get_by_test_id("csv-file").set_input_files(str(csv))
    page.get_by_test_id("csv-upload").click()
    result = page.get_by_test_id("csv-result")
    result.wait_for()
    assert f"router-sn-{code.lower()}-r" in result.inner_text()
    _shot(page, "01-imported")

    page.goto(f"{base}/console/jobs/")
    page.get_by_test_id("job-action").select_option("bootstrap")
    page.get_by_test_id("job-station").fill(code)
    page.get_by_test_id("job-dry-run").check()
    page.get_by_test_id("job-start").click()
    page.wait_for_url(f"{base}/console/jobs/*")
    status = page.get_by_test_id("job-status")
    # The page reloads itself every few seconds while the job runs; wait (bounded) for the end state.
    page.wait_for_function(
        "() => { const el = document.querySelector('[data-testid=\"job-status\"]');"
        " return el && el.textContent.trim() !== 'running'; }",
        timeout=90_000,
    )
    assert status.inner_text().strip() != "running"
    for role in ("s", "r"):
        device = f"{'stb' if role == 's' else 'router'}-sn-{code.lower()}-{role}"
        cell = page.get_by_test_id(f"job-device-status-{device}")
        assert cell.inner_text().strip() in {"ok", "changed", "failed", "unreachable"}
    _shot(page, "02-job-done")
    assert errors == []
