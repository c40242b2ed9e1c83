"""A live lesson end to end in real Chromium: schedule → the demo STB probes it in its window → the
lesson page updates with the station's figures (no reload) → after the end, the report page and CSV.
The lesson overlaps the dev stack's own demo lesson on the same STB and, started later, takes it over.

The DevStack of `make run` (real Mosquitto, VictoriaMetrics, controller with its lesson dispatcher,
ffmpeg live HLS and the demo STB agent). Waits are bounded, nothing is timed.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from station_controller.devstack.demo_lesson import DEMO_LESSON_TITLE
from tests.e2e.conftest import DEMO_STATION_CODE, LiveStack
from tests.support import wait_until

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "lessons"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LESSON_S = 150  # the lesson's length: long enough for reports to pass VictoriaMetrics' 30 s query offset
FIGURES_TIMEOUT_MS = 150_000


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(
        viewport={"width": 1280, "height": 900}, locale="zh-CN", accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page: Page, live: LiveStack) -> None:
    page.goto(f"{live.url}/console/login")
    page.get_by_test_id("username").fill(live.admin_username)
    page.get_by_test_id("password").fill(live.admin_password)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("current-user").wait_for()


def schedule(live: LiveStack) -> tuple[int, float]:
    """A lesson from now for LESSON_S seconds (Asia/Shanghai wall time) on the demo station."""
    url = (live.stack.data_dir / "hls" / "url.txt").read_text(encoding="utf-8").strip()
    start = datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None, microsecond=0)
    body = {
        "title": "党课直播 e2e",
        "url": url,
        "starts_local": start.isoformat(),
        "ends_local": (start + timedelta(seconds=LESSON_S)).isoformat(),
        "timezone": "Asia/Shanghai",
        "stations": [DEMO_STATION_CODE],
    }
    with live.api() as api:
        reply = api.post("/api/v1/lessons", json=body)
        assert reply.status_code == 201, reply.text
        return int(reply.json()["id"]), time.time() + LESSON_S


def demo_lesson(live: LiveStack) -> dict[str, Any]:
    """The lesson `make run` schedules on the demo station (devstack/demo_lesson.py)."""
    with live.api() as api:
        rows = [r for r in api.get("/api/v1/lessons").json() if r["title"] == DEMO_LESSON_TITLE]
    assert len(rows) == 1, rows
    return dict(rows[0])


def test_lesson_page_updates_and_report_after_the_end(live_stack: LiveStack, page: Page) -> None:
    live = live_stack
    # `make run`'s demo lesson runs on this STB for 12 h; this one overlaps it and starts later, so it is
    # the one the STB probes (one probe per STB: the most recently started lesson wins).
    assert demo_lesson(live)["stations"] == [DEMO_STATION_CODE]
    lesson_id, ends_at = schedule(live)
    log_in(page, live)
    page.goto(f"{live.url}/console/lessons/{lesson_id}")
    row = f'[data-testid="lesson-station-{DEMO_STATION_CODE}"]'
    assert page.locator(row).get_attribute("data-watching") == "0"  # nothing reported yet for this lesson
    shot(page, "01-lesson-scheduled")
    # The page polls live.json; the row fills in once the STB's reports for this lesson are queryable.
    page.wait_for_selector(f'{row}[data-watching="1"]', timeout=FIGURES_TIMEOUT_MS)
    page.wait_for_function(
        "s => document.querySelector(s + ' [data-field=\"bitrate_bps\"]').textContent.trim() !== ''",
        arg=row,
        timeout=FIGURES_TIMEOUT_MS,
    )
    assert page.locator(f'{row} [data-field="startup_s"]').inner_text().strip() != ""
    assert page.locator(f'{row} [data-field="latency_s"]').inner_text().strip() != ""
    assert page.get_by_test_id("lesson-watching").inner_text().strip() == "1"
    page.wait_for_selector('#lesson-chart[data-chart-ready="1"]', state="attached", timeout=30_000)
    shot(page, "02-lesson-live")

    wait_until(lambda: time.time() > ends_at + 5, timeout=LESSON_S + 60, message="the lesson's end")
    page.goto(f"{live.url}/console/lessons/{lesson_id}/report")
    assert page.get_by_test_id("report-attended").inner_text().strip() == "1"
    assert page.get_by_test_id("summary-startup_s").inner_text().strip() != "startup_s"
    shot(page, "03-report")
    with page.expect_download() as download:
        page.get_by_test_id("report-csv").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert [(r["station"], r["watching"]) for r in rows] == [(DEMO_STATION_CODE, "true")]
    assert float(rows[0]["rebuffer_ratio"]) >= 0.0
    assert rows[0]["startup_s"] != ""

    with live.api() as api:  # the same report through the API
        report = api.get(f"/api/v1/lessons/{lesson_id}/report").json()
    assert report["attended"] == 1
    assert report["lesson"]["state"] == "ended"
    assert httpx.get(f"{live.url}/console/lessons/{lesson_id}/report.csv").status_code in (303, 401)  # login
