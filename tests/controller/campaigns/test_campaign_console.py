"""Console pages of campaigns: list, live progress per wave and region, failures, operator actions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from station_controller.auth.service import create_user
from station_controller.main import create_app
from tests.controller.campaigns.conftest import Fleet
from tests.controller.console.conftest import PASSWORD, _csrf_from, _login


@pytest.fixture
def console(fleet: Fleet) -> Iterator[TestClient]:
    app = create_app(fleet.settings)
    app.state.campaign_payloads = fleet.payloads
    with fleet.sessions() as session:
        create_user(session, username="ops", password=PASSWORD, role="operator")
        create_user(session, username="watcher", password=PASSWORD, role="viewer")
    with TestClient(app, follow_redirects=False) as client:
        yield client


def test_the_campaign_page_shows_waves_regions_failures_and_pauses(console: TestClient, fleet: Fleet) -> None:
    devices = fleet.add_stations(3)
    cid = fleet.start(name="math-june", waves={"canary": ["S0001"], "percentages": [100]})
    fleet.scheduler().step()
    fleet.report(devices[0], "fake.failed", campaign=cid, reason="disk_space", retryable=False)
    assert console.get("/console/campaigns/").status_code == 303  # login first
    assert _login(console, "ops").status_code == 303
    listing = console.get("/console/campaigns/?lang=en")
    assert "math-june" in listing.text
    page = console.get(f"/console/campaigns/{cid}?lang=en")
    assert page.status_code == 200
    assert 'data-testid="waves"' in page.text
    assert 'data-testid="regions"' in page.text
    assert "disk_space" in page.text
    assert devices[0] in page.text
    assert '<meta http-equiv="refresh"' in page.text  # live while running
    paused = console.post(f"/console/campaigns/{cid}/pause", data={"csrf": _csrf_from(page.text)})
    assert paused.status_code == 303
    assert fleet.campaign(cid).state == "paused"
    page = console.get(f"/console/campaigns/{cid}?lang=en")
    assert 'data-testid="action-resume"' in page.text
    forged = console.post(f"/console/campaigns/{cid}/cancel", data={"csrf": "forged"})
    assert forged.status_code == 403
    assert fleet.campaign(cid).state == "paused"


def test_viewers_see_no_buttons_and_cannot_post(console: TestClient, fleet: Fleet) -> None:
    fleet.add_stations(1)
    cid = fleet.start()
    assert _login(console, "watcher").status_code == 303
    page = console.get(f"/console/campaigns/{cid}")
    assert page.status_code == 200
    assert "action-cancel" not in page.text
    refused = console.post(f"/console/campaigns/{cid}/cancel", data={"csrf": _csrf_from(page.text)})
    assert refused.status_code == 403
    assert fleet.campaign(cid).state == "running"
    assert console.get("/console/campaigns/999").status_code == 404
