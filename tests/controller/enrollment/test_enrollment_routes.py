"""Enrollment: one-time tokens for broker credentials, rate limits, revoke and re-issue."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from station_controller.broker.passwords import verify_password
from station_controller.kernel.clock import utcnow
from station_controller.registry.models import Device
from station_protocol.enrollment import EnrollResponse
from tests.controller.api.core_fixtures import Api

ENROLL = "/api/v1/enroll"


def _register(api: Api, serial: str = "SN-1") -> tuple[dict[str, str], str, str]:
    """An operator's headers, plus a pending STB's id and one-time token."""
    operator = api.user("operator")
    station = {"code": f"st-{serial.lower()}", "name": "王庄站", "region_path": "河南省/南阳市/唐河县"}
    assert api.client.post("/api/v1/stations", json=station, headers=operator).status_code == 201
    body = {"station_code": station["code"], "role": "stb", "serial": serial}
    created = api.client.post("/api/v1/devices", json=body, headers=operator).json()
    return operator, created["device"]["id"], created["token"]


def _passwd(api: Api) -> dict[str, str]:
    path = api.settings.broker_password_file
    assert isinstance(path, Path)
    lines = path.read_text().splitlines()
    return dict(line.split(":", 1) for line in lines)


def test_enroll_issues_credentials_once_and_writes_the_broker_files(api: Api) -> None:
    _, device_id, token = _register(api)
    reply = api.client.post(ENROLL, json={"serial": "SN-1", "token": token, "agent_version": "0.3.0"})
    assert reply.status_code == 200, reply.text
    enrolled = EnrollResponse.from_dict(reply.json())
    assert (enrolled.device_id, enrolled.role, enrolled.mqtt_username) == (device_id, "stb", device_id)
    assert (enrolled.mqtt_host, enrolled.mqtt_port) == ("mqtt.example.test", 18830)
    accounts = _passwd(api)
    assert verify_password(enrolled.mqtt_password, accounts[device_id])
    assert verify_password(api.settings.mqtt_password.get_secret_value(), accounts["controller"])
    assert api.settings.broker_acl_file is not None
    assert "pattern write" in api.settings.broker_acl_file.read_text()
    with api.sessions() as session:
        device = session.get(Device, device_id)
        assert device is not None
        assert (device.status, device.token_hash, device.agent_version) == ("enrolled", None, "0.3.0")
        assert device.mqtt_password_hash != enrolled.mqtt_password
    again = api.client.post(ENROLL, json={"serial": "SN-1", "token": token})
    assert again.status_code == 401
    assert again.json()["error"] == "authentication_required"


def test_wrong_unknown_or_expired_tokens_are_refused(api: Api) -> None:
    _, device_id, token = _register(api)
    assert api.client.post(ENROLL, json={"serial": "SN-1", "token": token + "x"}).status_code == 401
    assert api.client.post(ENROLL, json={"serial": "SN-404", "token": token}).status_code == 401
    with api.sessions() as session:
        device = session.get(Device, device_id)
        assert device is not None
        device.token_expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
    assert api.client.post(ENROLL, json={"serial": "SN-1", "token": token}).status_code == 401
    assert api.client.post(ENROLL, json={"serial": "SN-1"}).status_code == 422
    assert api.settings.broker_password_file is not None
    assert not api.settings.broker_password_file.exists()  # nothing enrolled, so nothing was written


def _source(api: Api, address: str) -> TestClient:
    """A client of the same app whose requests come from ``address``."""
    return TestClient(api.client.app, client=(address, 40000))


def test_enrollment_lockout_attempts_dont_stop_a_valid_token(api: Api) -> None:
    _, _, token_2 = _register(api, "SN-2")
    _, _, token_1 = _register(api, "SN-1B")
    attacker = _source(api, "198.51.100.9")
    limit = api.settings.login_attempts_per_minute
    for serial in ("SN-1B", "SN-2"):  # the serials are printed on the boxes
        for _ in range(limit * 2):
            assert attacker.post(ENROLL, json={"serial": serial, "token": "guess"}).status_code in {401, 429}
    assert attacker.post(ENROLL, json={"serial": "SN-2", "token": "guess"}).status_code == 429

    # The holder, from its own address: enrolls at once.
    assert api.client.post(ENROLL, json={"serial": "SN-1B", "token": token_1}).status_code == 200
    # Even from the limited address (a shared village NAT), a correct token is never refused.
    assert attacker.post(ENROLL, json={"serial": "SN-2", "token": token_2}).status_code == 200


def test_a_source_sending_bad_tokens_gets_429_with_a_growing_retry_after(api: Api) -> None:
    _register(api)
    guesser = _source(api, "203.0.113.5")
    for n in range(api.settings.login_attempts_per_minute):
        assert guesser.post(ENROLL, json={"serial": f"OTHER-{n}", "token": "guess"}).status_code == 401
    waits = []
    for _ in range(3):
        blocked = guesser.post(ENROLL, json={"serial": "SN-1", "token": "guess"})
        assert blocked.status_code == 429
        assert blocked.json()["error"] == "rate_limited"
        waits.append(int(blocked.headers["retry-after"]))
    assert waits[0] >= api.settings.auth_backoff_base_s - 1
    assert waits[0] < waits[1] < waits[2]
    # Another address is not affected.
    assert api.client.post(ENROLL, json={"serial": "SN-1", "token": "guess"}).status_code == 401


def test_revoke_removes_the_broker_account(api: Api) -> None:
    operator, device_id, token = _register(api)
    assert api.client.post(ENROLL, json={"serial": "SN-1", "token": token}).status_code == 200
    assert device_id in _passwd(api)
    assert (
        api.client.post(f"/api/v1/devices/{device_id}/revoke", headers=api.user("viewer")).status_code == 403
    )
    reply = api.client.post(f"/api/v1/devices/{device_id}/revoke", headers=operator)
    assert reply.status_code == 200
    assert reply.json()["status"] == "revoked"
    assert device_id not in _passwd(api)
    assert "controller" in _passwd(api)
    assert api.client.post(f"/api/v1/devices/{device_id}/revoke", headers=operator).status_code == 409
    assert api.client.post(ENROLL, json={"serial": "SN-1", "token": token}).status_code == 401


def test_reissue_gives_a_new_token_and_drops_the_old_credential(api: Api) -> None:
    operator, device_id, token = _register(api)
    first = api.client.post(ENROLL, json={"serial": "SN-1", "token": token}).json()
    reissued = api.client.post(f"/api/v1/devices/{device_id}/token", headers=operator)
    assert reissued.status_code == 200
    new_token = reissued.json()["token"]
    assert new_token != token
    assert reissued.json()["device"]["status"] == "pending"
    assert device_id not in _passwd(api)
    assert api.client.post(ENROLL, json={"serial": "SN-1", "token": token}).status_code == 401
    second = api.client.post(ENROLL, json={"serial": "SN-1", "token": new_token}).json()
    assert second["mqtt_password"] != first["mqtt_password"]
    assert verify_password(second["mqtt_password"], _passwd(api)[device_id])
