"""``stream.*`` on the wire: registered, goldens decode and re-encode identically, reports are valid."""

from __future__ import annotations

import json
from pathlib import Path

from station_protocol import contract
from station_protocol.stream import PROBE, QOE, STOP

from .simulated import BASE, SimClock, SimOrigin
from .test_probe import run

GOLDENS = Path(__file__).resolve().parents[2] / "fixtures" / "messages"


def test_stream_messages_are_registered() -> None:
    assert {PROBE, STOP} <= set(contract.COMMANDS)
    assert QOE in contract.EVENTS


def test_goldens_round_trip() -> None:
    for name in (PROBE, STOP):
        golden = json.loads((GOLDENS / "commands" / f"{name}.json").read_text())
        assert contract.encode(contract.decode_args(name, golden["args"])) == golden["args"]
        assert contract.encode(contract.decode_output(name, golden["output"])) == golden["output"]
    detail = json.loads((GOLDENS / "events" / f"{QOE}.json").read_text())["detail"]
    assert contract.encode(contract.decode_event(QOE, detail)) == detail


def test_a_probe_report_is_a_valid_event_detail() -> None:
    from station_agent.stream.report import probe_report

    clock = SimClock()
    probe = run(SimOrigin(clock, link_bps=250_000, missing={30}), clock, 60, url=f"{BASE}/master.m3u8")
    detail = contract.encode(probe_report(probe, session="s1", lesson="L1", interval_s=60))
    decoded = contract.decode_event(QOE, json.loads(json.dumps(detail)))
    assert decoded.stall_count >= 1
    assert decoded.lesson == "L1"
