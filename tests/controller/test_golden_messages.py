"""The controller builds exactly the golden command args and accepts the golden outputs and events.

Builders: portal.allow/revoke/extend args from a session row, ping/reboot/diagnostics as the API sends
them; consumers: command results (record_results, then the API's view of them) and the portal's router
event handler (apply_router_events). Goldens: tests/fixtures/messages/commands|events/.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from fixtures.golden import command_golden, event_golden
from station_controller.commands.service import record_results
from station_controller.ingest.events import DeviceEvent
from station_controller.portal.device_events import PORTAL_EVENTS, apply_router_events
from station_controller.portal.models import PortalSession
from station_controller.portal.service import allow_args, extend_args, revoke_args
from station_protocol import Command, Result, contract, decode
from station_protocol import commands as names
from station_protocol import portal as wire
from tests.controller.api.core_fixtures import Api
from tests.controller.commands.test_command_routes import _enrolled


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def session_row(gateway: str = "router-r1", **changes: Any) -> PortalSession:
    """A live native session holding the golden portal.allow args."""
    args = command_golden(wire.ALLOW)["args"]
    values: dict[str, Any] = {
        "id": args["session_id"], "kind": "native", "gateway": gateway, "mac": args["mac"], "ip": args["ip"],
        "started_at": _at(args["expires_at"] - 3_600_000), "expires_at": _at(args["expires_at"]),
        "idle_timeout_s": args["idle_timeout_s"], "up_kbps": args["up_kbps"], "down_kbps": args["down_kbps"],
        "quota_bytes": args["quota_bytes"], "bytes_up": 0, "bytes_down": 0, "status": "active",
    }  # fmt: skip
    return PortalSession(**{**values, **changes})


def test_portal_allow_args_are_the_golden_args() -> None:
    assert allow_args(session_row()) == command_golden(wire.ALLOW)["args"]


def test_portal_revoke_args_are_the_golden_args() -> None:
    assert revoke_args(session_row(), reason="revoked") == command_golden(wire.REVOKE)["args"]


def test_portal_extend_args_are_the_golden_args() -> None:
    golden = command_golden(wire.EXTEND)["args"]
    row = session_row(expires_at=_at(golden["expires_at"]), quota_bytes=golden["quota_bytes"])
    assert extend_args(row) == golden


def test_portal_event_handler_takes_the_golden_event_names() -> None:
    assert {name for name in contract.EVENTS if name.startswith("portal.")} == PORTAL_EVENTS


@pytest.mark.parametrize("name", [names.PING, names.REBOOT, names.DIAGNOSTICS])
def test_common_commands_send_the_golden_args_and_store_the_golden_output(api: Api, name: str) -> None:
    device_id = _enrolled(api, "R1")
    operator = api.user("operator")
    golden = command_golden(name)
    body = {"name": name, "args": golden["args"]}
    reply = api.client.post(f"/api/v1/devices/{device_id}/commands", json=body, headers=operator)
    assert reply.status_code == 202, reply.text
    envelope = decode(api.ingest.publisher.sent[-1]["payload"])  # type: ignore[arg-type]
    assert isinstance(envelope.body, Command)
    assert (envelope.body.name, envelope.body.args) == (name, golden["args"])
    contract.decode_args(name, envelope.body.args)
    with api.sessions() as session:
        result = Result(command_id=envelope.id, status="ok", output=golden["output"])
        assert record_results(session, [(device_id, result)]) == [envelope.id]
    stored = api.client.get(f"/api/v1/commands/{envelope.id}", headers=operator).json()
    assert (stored["status"], stored["output"]) == ("ok", golden["output"])


def test_router_events_fold_the_golden_accounting_and_session_end(api: Api) -> None:
    with api.sessions() as session:
        session.add(session_row())
        session.commit()
        accounting = event_golden(wire.ACCOUNTING)
        ended = event_golden(wire.SESSION_ENDED)
        events = [DeviceEvent("router-r1", wire.ACCOUNTING, accounting)]
        assert apply_router_events(session, events) == 1
        row = session.get(PortalSession, ended["session_id"])
        assert row is not None
        entry = accounting["sessions"][0]
        assert (row.status, row.bytes_up, row.bytes_down) == (
            "active",
            entry["bytes_up"],
            entry["bytes_down"],
        )
        assert row.last_activity_at is not None
        assert apply_router_events(session, [DeviceEvent("router-r1", wire.SESSION_ENDED, ended)]) == 1
        session.refresh(row)
        assert (row.status, row.end_reason) == ("ended", ended["reason"])
        assert int(row.ended_at.timestamp() * 1000) == ended["ended_at"]  # type: ignore[union-attr]
