"""The agent's real handlers take the golden args and answer the golden outputs and events.

Each command goes through the real Dispatcher (envelope in, result envelope out); the router's gateway
runs on the fake nft/tc runners behind its adapter Protocols. Outputs and events must decode with the
contract (station_protocol.contract) and match tests/fixtures/messages/commands|events/.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping

import pytest

from fixtures.golden import command_golden, event_golden
from station_agent.commands import Diagnostics, DiagnosticsTargets, Handler, Reboot, build_registry
from station_agent.commands.portal import PortalCommands
from station_agent.dispatcher import Dispatcher
from station_agent.outbox import Outbox
from station_agent.state import StateStore
from station_agent.tunables import Tunables
from station_protocol import Channel, Command, contract, encode, make, topic
from station_protocol import commands as names
from station_protocol import portal as p

from .fakes import FakeRunner
from .gateway.conftest import DEVICE, make_gateway, portal_config
from .gateway.fakes import FakeClock, FakeNft, FakeTc

NOW_MS = 1_795_700_040_118  # the agent clock of the golden outputs


def dispatcher(
    store: StateStore, outbox: Outbox, tunables: Tunables, handlers: Mapping[str, Handler]
) -> Dispatcher:
    return Dispatcher(device_id=DEVICE, store=store, outbox=outbox, handlers=handlers, tunables=tunables,
                      max_timeout_s=30, clock=lambda: NOW_MS)  # fmt: skip


def run(disp: Dispatcher, name: str, args: Dict[str, Any]) -> Dict[str, Any]:
    """The ``ok`` result's output, as sent on the wire, after checking it decodes with the contract."""
    cmd = Command(name=name, expires_at=NOW_MS + 3_600_000, args=args)
    result = disp.handle(topic(DEVICE, Channel.CMD), encode(make(DEVICE, cmd, ts=NOW_MS)))
    assert result is not None
    assert (result.status, result.error) == ("ok", None)
    output = dict(result.output)
    contract.decode_output(name, output)
    return output


def queued_events(outbox: Outbox) -> List[Dict[str, Any]]:
    return [
        body for body in (json.loads(row.payload)["body"] for row in outbox.peek(10000)) if "detail" in body
    ]


def test_ping_echoes_the_golden_args(store: StateStore, outbox: Outbox, tunables: Tunables) -> None:
    golden = command_golden(names.PING)
    registry = build_registry(reboot=Reboot(runner=FakeRunner(), command=[], dry_run=True, device_id=DEVICE),
                              diagnostics=Diagnostics(DIAG_NOWHERE, queue_depth=lambda: 0))  # fmt: skip
    out = run(dispatcher(store, outbox, tunables, registry), names.PING, golden["args"])
    assert out == {**golden["output"], "agent_time_ms": out["agent_time_ms"]}


def test_reboot_answers_the_golden_output(store: StateStore, outbox: Outbox, tunables: Tunables) -> None:
    golden = command_golden(names.REBOOT)
    reboot = Reboot(runner=FakeRunner(), command=golden["output"]["command"], dry_run=False, device_id=DEVICE)
    out = run(dispatcher(store, outbox, tunables, {names.REBOOT: reboot}), names.REBOOT, golden["args"])
    assert out == golden["output"]


DIAG_NOWHERE = DiagnosticsTargets(broker_host="127.0.0.1", broker_port=9, controller_url="", content_path="/")


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(4)
        yield sock.getsockname()[1]


def test_diagnostics_answers_the_golden_shape(
    store: StateStore, outbox: Outbox, tunables: Tunables, listener: int, tmp_path: Path
) -> None:
    golden = command_golden(names.DIAGNOSTICS)
    url = f"http://localhost:{listener}"
    targets = DiagnosticsTargets("127.0.0.1", listener, controller_url=url, content_path=str(tmp_path))
    handlers = {names.DIAGNOSTICS: Diagnostics(targets, queue_depth=lambda: 0)}
    out = run(dispatcher(store, outbox, tunables, handlers), names.DIAGNOSTICS, golden["args"])
    assert set(out) == set(golden["output"])
    assert set(out["broker_tcp"]) == set(golden["output"]["broker_tcp"])  # the "ok" probe's keys
    assert set(out["controller_dns"]) == set(golden["output"]["controller_dns"])
    assert out["queue_depth"] == golden["output"]["queue_depth"]


def test_portal_commands_and_events_match_the_goldens(
    store: StateStore, outbox: Outbox, tunables: Tunables
) -> None:
    nft, clock = FakeNft(), FakeClock(NOW_MS)
    gateway = make_gateway(store, outbox, nft, FakeTc(), clock)
    gateway.apply_config(portal_config())
    disp = dispatcher(store, outbox, tunables, PortalCommands(gateway).handlers())
    allow = command_golden(p.ALLOW)
    older = {**allow["args"], "session_id": allow["output"]["replaced"][0], "mac": "02:aa:bb:cc:dd:02"}
    run(disp, p.ALLOW, older)

    out = run(disp, p.ALLOW, allow["args"])
    assert out == {**allow["output"], "class_id": out["class_id"]}  # the HTB class is the agent's choice

    nft.up[(allow["args"]["mac"], allow["args"]["ip"])] = 1_048_576
    nft.down[allow["args"]["ip"]] = 20_971_520
    gateway.enforce()
    gateway.account()
    assert run(disp, p.SESSIONS, command_golden(p.SESSIONS)["args"]) == command_golden(p.SESSIONS)["output"]
    extend = command_golden(p.EXTEND)
    assert run(disp, p.EXTEND, extend["args"]) == extend["output"]
    revoke = command_golden(p.REVOKE)
    assert run(disp, p.REVOKE, revoke["args"]) == {k: v for k, v in revoke["output"].items() if v is not None}

    sent = queued_events(outbox)
    for event in sent:
        contract.decode_event(event["name"], event["detail"])
    last = {event["name"]: event["detail"] for event in sent}
    assert last[p.ACCOUNTING] == event_golden(p.ACCOUNTING)
    assert last[p.SESSION_ENDED] == event_golden(p.SESSION_ENDED)


def test_an_undecodable_command_is_answered_with_the_golden_bad_command_event(
    store: StateStore, outbox: Outbox, tunables: Tunables
) -> None:
    disp = dispatcher(store, outbox, tunables, {})
    assert disp.handle(topic(DEVICE, Channel.CMD), b'{"v": 1, "kind": "command"}') is None
    [event] = queued_events(outbox)
    assert event["name"] == names.BAD_COMMAND
    contract.decode_event(names.BAD_COMMAND, event["detail"])
    golden = event_golden(names.BAD_COMMAND)
    assert set(event["detail"]) == set(golden)
    assert event["detail"]["topic"] == topic(DEVICE, Channel.CMD)
