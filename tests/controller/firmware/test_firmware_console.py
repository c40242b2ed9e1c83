"""Console pages of firmware: releases, distribution, devices; an operator starts a firmware campaign from
the form and watches per-device progress; a device page shows versions, slots and refusal reasons."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from station_controller.auth.service import create_user
from station_controller.firmware.device_events import FirmwareEvents
from station_controller.ingest.events import DeviceEvent
from station_controller.main import create_app
from tests.controller.campaigns.conftest import Fleet
from tests.controller.console.conftest import PASSWORD, _csrf_from, _login
from tests.controller.firmware.signing import Key
from tests.controller.firmware.test_firmware_payload import publish, updates


@pytest.fixture
def console(fleet: Fleet) -> Iterator[TestClient]:
    app = create_app(fleet.settings)
    app.state.campaign_payloads = fleet.payloads
    with fleet.sessions() as session:
        create_user(session, username="ops", password=PASSWORD, role="operator")
        create_user(session, username="watcher", password=PASSWORD, role="viewer")
    with TestClient(app, follow_redirects=False) as client:
        yield client


def test_an_operator_starts_a_firmware_campaign_and_sees_devices_progress(
    console: TestClient, fleet: Fleet, fw_key: Key
) -> None:
    release = publish(fleet, fw_key, "0.3.0")
    canary, other = fleet.add_stations(2)
    assert console.get("/console/firmware/").status_code == 303  # login first
    assert _login(console, "ops").status_code == 303
    page = console.get("/console/firmware/?lang=en")
    assert page.status_code == 200
    assert f'data-testid="fw-release-{release}"' in page.text
    assert 'href="/console/firmware/"' in page.text  # the menu entry
    form = {
        "csrf": _csrf_from(page.text),
        "name": "agent-0.3.0-night",
        "release_id": release,
        "region": "河南省/南阳市/唐河县",
        "canary": "S0001",
        "percentages": "100",
    }
    created = console.post("/console/firmware/campaigns", data=form)
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    fleet.scheduler().step()
    [(device, _)] = updates(fleet)
    assert device == canary
    cid = int(location.rsplit("/", 1)[1])
    job = fleet.device(cid, canary).job_id
    assert job is not None
    detail = {"job_id": job, "release_id": release, "kind": "agent", "version": "0.3.0"}
    FirmwareEvents(fleet.sessions).record(
        [DeviceEvent(canary, "firmware.progress", {**detail, "state": "health_check"})]
    )
    live = console.get(location + "?lang=en")
    assert live.status_code == 200
    assert f'data-testid="fw-state-{canary}" data-state="health_check"' in live.text
    assert f'data-testid="fw-state-{other}" data-state="pending"' in live.text
    assert '<meta http-equiv="refresh"' in live.text

    FirmwareEvents(fleet.sessions).record(
        [
            DeviceEvent(
                canary,
                "firmware.progress",
                {
                    **detail,
                    "state": "rolled_back",
                    "reason": "health_deadline",
                    "detail": "broker not reached within 300 s",
                },
            )
        ]
    )
    device_page = console.get(f"/console/firmware/devices/{canary}?lang=en")
    assert "health_deadline" in device_page.text
    assert "broker not reached within 300 s" in device_page.text

    forged = console.post("/console/firmware/campaigns", data={**form, "csrf": "forged", "name": "x"})
    assert forged.status_code == 403


def test_a_viewer_sees_the_pages_but_not_the_campaign_form(
    console: TestClient, fleet: Fleet, fw_key: Key
) -> None:
    publish(fleet, fw_key, "0.3.0")
    fleet.add_stations(1)
    assert _login(console, "watcher").status_code == 303
    page = console.get("/console/firmware/?lang=en")
    assert page.status_code == 200
    assert 'data-testid="fw-new-campaign"' not in page.text
    assert 'data-testid="fw-devices"' in page.text
    denied = console.post(
        "/console/firmware/campaigns", data={"csrf": _csrf_from(page.text), "name": "x", "release_id": "y"}
    )
    assert denied.status_code == 403
