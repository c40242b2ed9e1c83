"""commands/portal: handlers through the real dispatcher; bad input is answered ``rejected``."""

from __future__ import annotations

from typing import Any, Dict

import pytest

from station_agent.commands.portal import PortalCommands
from station_agent.dispatcher import Dispatcher
from station_agent.gateway.gateway import Gateway
from station_agent.outbox import Outbox
from station_agent.state import StateStore
from station_agent.tunables import Tunables
from station_protocol import Channel, Command, encode, make, now_ms, topic

from .conftest import DEVICE, events, make_gateway
from .fakes import FakeClock, FakeNft, FakeTc

MAC, IP = "02:aa:bb:cc:dd:01", "10.77.1.2"


@pytest.fixture
def dispatcher(store: StateStore, outbox: Outbox, gateway: Gateway, tunables: Tunables) -> Dispatcher:
    return Dispatcher(
        device_id=DEVICE,
        store=store,
        outbox=outbox,
        handlers=PortalCommands(gateway).handlers(),
        tunables=tunables,
        max_timeout_s=30,
    )


def run(dispatcher: Dispatcher, name: str, args: Dict[str, Any], cid: str) -> Dict[str, Any]:
    cmd = Command(name=name, expires_at=now_ms() + 3_600_000, args=args)
    result = dispatcher.handle(topic(DEVICE, Channel.CMD), encode(make(DEVICE, cmd, msg_id=cid)))
    assert result is not None
    return {"status": result.status, "error": result.error, "output": result.output}


def allow_args(clock: FakeClock, **changes: Any) -> Dict[str, Any]:
    return {"session_id": "s-1", "mac": MAC, "ip": IP, "expires_at": clock() + 3600_000, "idle_timeout_s": 0,
            "up_kbps": 1000, "down_kbps": 2000, "quota_bytes": 0, **changes}  # fmt: skip


def test_allow_sessions_extend_revoke(dispatcher: Dispatcher, clock: FakeClock, outbox: Outbox) -> None:
    ok = run(dispatcher, "portal.allow", allow_args(clock), "c1")
    assert ok["status"] == "ok"
    assert ok["output"]["class_id"] == 16
    listed = run(dispatcher, "portal.sessions", {}, "c2")["output"]["sessions"]
    assert [(s["session_id"], s["mac"], s["ip"], s["bytes_up"]) for s in listed] == [("s-1", MAC, IP, 0)]
    extended = run(dispatcher, "portal.extend", {"session_id": "s-1", "expires_at": clock() + 10**7,
                                                 "quota_bytes": 5}, "c3")  # fmt: skip
    assert extended["output"]["quota_bytes"] == 5
    revoked = run(dispatcher, "portal.revoke", {"session_id": "s-1", "mac": MAC, "reason": "kick"}, "c4")
    assert revoked["status"] == "ok"
    assert revoked["output"]["revoked"] is True
    assert events(outbox, "portal.session_ended")[0]["reason"] == "revoked"
    again = run(dispatcher, "portal.revoke", {"session_id": "s-1", "mac": MAC}, "c5")
    assert again["output"]["revoked"] is False


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("portal.allow", {"mac": "nonsense"}, "mac: expected a unicast MAC"),
        ("portal.allow", {"ip": "10.0.0.1; reboot"}, "ip: expected an IPv4 address"),
        ("portal.allow", {"down_kbps": -5}, "down_kbps: expected an integer"),
        ("portal.allow", {"expires_at": 1}, "expires_at 1 is in the past"),
        ("portal.revoke", {"session_id": "s-1"}, "missing argument(s) ['mac']"),
        ("portal.sessions", {"all": True}, "unknown argument(s) ['all']"),
    ],
)
def test_bad_input_is_rejected(
    dispatcher: Dispatcher, clock: FakeClock, name: str, args: Dict[str, Any], message: str
) -> None:
    full = {**allow_args(clock), **args} if name == "portal.allow" else args
    answer = run(dispatcher, name, full, "bad")
    assert answer["status"] == "rejected"
    assert message in (answer["error"] or "")


def test_revoke_with_wrong_mac_is_rejected(dispatcher: Dispatcher, clock: FakeClock) -> None:
    run(dispatcher, "portal.allow", allow_args(clock), "c1")
    answer = run(dispatcher, "portal.revoke", {"session_id": "s-1", "mac": "02:aa:bb:cc:dd:09"}, "c2")
    assert answer["status"] == "rejected"
    assert "does not match" in str(answer["error"])


def test_new_login_on_same_ip_replaces_old_session(
    dispatcher: Dispatcher, clock: FakeClock, outbox: Outbox
) -> None:
    run(dispatcher, "portal.allow", allow_args(clock), "c1")
    out = run(dispatcher, "portal.allow", allow_args(clock, session_id="s-2", mac="02:aa:bb:cc:dd:02"), "c2")
    assert out["output"]["replaced"] == ["s-1"]
    assert [e["session_id"] for e in events(outbox, "portal.session_ended")] == ["s-1"]


def test_portal_commands_refused_while_disabled(
    store: StateStore, outbox: Outbox, tunables: Tunables, clock: FakeClock
) -> None:
    gw = make_gateway(store, outbox, FakeNft(), FakeTc(), clock)
    handlers = PortalCommands(gw).handlers()
    disp = Dispatcher(device_id=DEVICE, store=store, outbox=outbox, handlers=handlers, tunables=tunables,
                      max_timeout_s=30)  # fmt: skip
    answer = run(disp, "portal.allow", allow_args(clock), "c1")
    assert answer["status"] == "rejected"
    assert "not enabled" in str(answer["error"])
