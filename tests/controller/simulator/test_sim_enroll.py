"""Enrolling a simulated fleet through the controller's REST API: login, CSV import, one enroll each."""

from __future__ import annotations

import pytest

from station_controller.auth.service import create_user
from station_simulator.credentials import station_rows
from station_simulator.enroll import enroll_fleet
from station_simulator.errors import EnrollmentError
from tests.controller.api.core_fixtures import PASSWORD, Api


def test_fleet_gets_one_credential_per_device(api: Api) -> None:
    with api.sessions() as session:
        create_user(session, username="simops", password=PASSWORD, role="operator")
    rows = station_rows(5, prefix="enr", with_router=True, seed=2)
    creds = enroll_fleet(
        url="http://testserver",
        username="simops",
        password=PASSWORD,
        rows=rows,
        agent_version="sim-t",
        workers=2,
        http=api.client,
    )
    assert len(creds) == 10
    assert [c.role for c in creds] == [r.role for r in rows]
    assert len({c.device_id for c in creds}) == 10
    assert all(c.mqtt_username == c.device_id and c.mqtt_password for c in creds)
    listed = api.client.get(
        "/api/v1/devices", params={"region": rows[0].region_path}, headers=api.user("viewer")
    )
    assert rows[0].serial in {d["serial"] for d in listed.json()["items"]}


def test_wrong_password_says_login_failed(api: Api) -> None:
    with pytest.raises(EnrollmentError, match="cannot log in: HTTP 401"):
        enroll_fleet(
            url="http://testserver",
            username="nobody",
            password="wrong-password-123",
            rows=station_rows(1),
            agent_version="sim-t",
            http=api.client,
        )
