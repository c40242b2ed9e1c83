"""Commands: publish with expiry, results (waiting, polling, spoof protection), history, desired config."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from station_controller.commands.service import expire_overdue, record_results
from station_controller.kernel.clock import utcnow
from station_protocol import Command, ConfigDesired, Result, decode
from tests.controller.api.core_fixtures import Api
from tests.support import wait_until


def _enrolled(api: Api, serial: str) -> str:
    operator = api.user("operator")
    code = f"st-{serial.lower()}"
    station = {"code": code, "name": "站", "region_path": "河南省/南阳市"}
    api.client.post("/api/v1/stations", json=station, headers=operator)
    created = api.client.post(
        "/api/v1/devices", json={"station_code": code, "role": "router", "serial": serial}, headers=operator
    ).json()
    reply = api.client.post("/api/v1/enroll", json={"serial": serial, "token": created["token"]})
    assert reply.status_code == 200
    return str(created["device"]["id"])


def test_send_publishes_a_command_with_expiry_and_answers_202(api: Api) -> None:
    device_id = _enrolled(api, "R1")
    operator = api.user("operator", "op.cmd")
    reply = api.client.post(
        f"/api/v1/devices/{device_id}/commands", json={"name": "ping", "args": {"n": 3}}, headers=operator
    )
    assert reply.status_code == 202
    record = reply.json()
    assert (record["status"], record["created_by"], record["args"]) == ("sent", "op.cmd", {"n": 3})
    [sent] = api.ingest.publisher.sent
    assert sent["topic"] == f"st/v1/{device_id}/cmd"
    assert (sent["qos"], sent["retain"], sent["expiry_s"]) == (1, False, api.settings.command_expiry_s)
    envelope = decode(sent["payload"])  # type: ignore[arg-type]
    assert envelope.id == record["id"]
    assert envelope.dev == device_id
    assert isinstance(envelope.body, Command)
    assert envelope.body.args == {"n": 3}
    expected_expiry = time.time() + api.settings.command_expiry_s
    assert abs(envelope.body.expires_at / 1000 - expected_expiry) < 60
    assert api.client.get(f"/api/v1/commands/{record['id']}", headers=operator).json()["status"] == "sent"


def test_viewer_cannot_send_and_only_enrolled_devices_receive(api: Api) -> None:
    device_id = _enrolled(api, "R1")
    viewer, operator = api.user("viewer"), api.user("operator")
    assert (
        api.client.post(
            f"/api/v1/devices/{device_id}/commands", json={"name": "ping"}, headers=viewer
        ).status_code
        == 403
    )
    api.client.post(f"/api/v1/devices/{device_id}/revoke", headers=operator)
    refused = api.client.post(
        f"/api/v1/devices/{device_id}/commands", json={"name": "ping"}, headers=operator
    )
    assert refused.status_code == 409
    assert "revoked" in refused.json()["detail"]
    assert (
        api.client.post(
            "/api/v1/devices/router-x9/commands", json={"name": "ping"}, headers=operator
        ).status_code
        == 404
    )
    assert api.ingest.publisher.sent == []


def test_broker_down_is_a_retryable_503_and_the_command_is_marked_failed(api: Api) -> None:
    device_id = _enrolled(api, "R1")
    operator = api.user("operator")
    api.ingest.publisher.fail = True
    reply = api.client.post(f"/api/v1/devices/{device_id}/commands", json={"name": "ping"}, headers=operator)
    assert reply.status_code == 503
    assert reply.json()["error"] == "device_unreachable"
    assert reply.json()["retryable"] is True
    history = api.client.get(f"/api/v1/devices/{device_id}/commands", headers=operator).json()
    assert [c["status"] for c in history["items"]] == ["failed"]


def _answer_when_published(api: Api, device_id: str, status: str) -> threading.Thread:
    """Play the device + ingest: wait for the publish, record the result, wake the waiters."""

    def run() -> None:
        wait_until(lambda: api.ingest.publisher.sent, message="command published")
        command_id = decode(api.ingest.publisher.sent[-1]["payload"]).id  # type: ignore[arg-type]
        with api.sessions() as session:
            updated = record_results(
                session, [(device_id, Result(command_id=command_id, status=status, output={"rtt_ms": 4}))]
            )
        api.ingest.waiters.notify_many(updated)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_wait_returns_the_result_when_it_arrives(api: Api) -> None:
    device_id = _enrolled(api, "R1")
    operator = api.user("operator")
    answer = _answer_when_published(api, device_id, "ok")
    reply = api.client.post(
        f"/api/v1/devices/{device_id}/commands?wait=30", json={"name": "ping"}, headers=operator
    )
    answer.join()
    assert reply.status_code == 200
    assert (reply.json()["status"], reply.json()["output"]) == ("ok", {"rtt_ms": 4})
    assert reply.json()["finished_at"] is not None


def test_results_from_another_device_unknown_ids_and_repeats_are_ignored(api: Api) -> None:
    victim, spoofer = _enrolled(api, "R1"), _enrolled(api, "R2")
    operator = api.user("operator")
    command_id = api.client.post(
        f"/api/v1/devices/{victim}/commands", json={"name": "reboot"}, headers=operator
    ).json()["id"]
    with api.sessions() as session:
        assert record_results(session, [(spoofer, Result(command_id=command_id, status="ok"))]) == []
        assert record_results(session, [(victim, Result(command_id="f" * 32, status="ok"))]) == []
    assert api.client.get(f"/api/v1/commands/{command_id}", headers=operator).json()["status"] == "sent"
    with api.sessions() as session:
        batch = [
            (victim, Result(command_id=command_id, status="failed", error="disk full")),
            (victim, Result(command_id=command_id, status="already_applied")),
        ]
        assert record_results(session, batch) == [command_id]
    final = api.client.get(f"/api/v1/commands/{command_id}", headers=operator).json()
    assert (final["status"], final["error"]) == ("failed", "disk full")


def test_unanswered_commands_expire_and_answered_ones_keep_their_status(api: Api) -> None:
    device_id = _enrolled(api, "R1")
    operator = api.user("operator")
    silent, answered = (
        api.client.post(f"/api/v1/devices/{device_id}/commands", json={"name": n}, headers=operator).json()[
            "id"
        ]
        for n in ("ping", "diagnostics")
    )
    with api.sessions() as session:
        record_results(session, [(device_id, Result(command_id=answered, status="ok"))])
        assert expire_overdue(session) == 0  # nothing is past its expiry yet
        later = utcnow() + timedelta(seconds=api.settings.command_expiry_s + 1)
        assert expire_overdue(session, now=later) == 1
    assert api.client.get(f"/api/v1/commands/{silent}", headers=operator).json()["status"] == "expired"
    assert api.client.get(f"/api/v1/commands/{answered}", headers=operator).json()["status"] == "ok"


def test_history_is_newest_first(api: Api) -> None:
    device_id = _enrolled(api, "R1")
    operator = api.user("operator")
    for name in ("one", "two", "three"):
        api.client.post(f"/api/v1/devices/{device_id}/commands", json={"name": name}, headers=operator)
    page = api.client.get(f"/api/v1/devices/{device_id}/commands?limit=2", headers=api.user("viewer")).json()
    assert page["total"] == 3
    assert [c["name"] for c in page["items"]] == ["three", "two"]


def test_put_config_bumps_the_version_and_publishes_it_retained(api: Api) -> None:
    device_id = _enrolled(api, "R1")
    operator = api.user("operator")
    for version, config in ((1, {"ssid": "FreeWiFi"}), (2, {"ssid": "王庄免费WiFi"})):
        reply = api.client.put(
            f"/api/v1/devices/{device_id}/config", json={"config": config}, headers=operator
        )
        assert reply.status_code == 200
        assert reply.json()["desired_config_version"] == version
        sent = api.ingest.publisher.sent[-1]
        assert sent["topic"] == f"st/v1/{device_id}/config/desired"
        assert (sent["retain"], sent["qos"], sent["expiry_s"]) == (True, 1, None)
        body = decode(sent["payload"]).body  # type: ignore[arg-type]
        assert body == ConfigDesired(version=version, config=config)
    assert api.client.get(f"/api/v1/devices/{device_id}", headers=operator).json()["desired_config"] == {
        "ssid": "王庄免费WiFi"
    }
    assert (
        api.client.put(
            f"/api/v1/devices/{device_id}/config", json={"config": {}}, headers=api.user("viewer")
        ).status_code
        == 403
    )
