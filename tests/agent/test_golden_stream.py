"""The agent's real stream.* handlers take the golden args; their outputs and the qoe event match the goldens.

The handlers are the ones stream_parts registers (StreamService, events through the outbox's OutboxQoe),
called through the real Dispatcher; only the HLS origin is simulated behind the fetcher Protocol
(tests/agent/stream/simulated.py). Outputs and events must decode with station_protocol.contract and
carry exactly the golden keys.
"""

from __future__ import annotations

import threading

from fixtures.golden import command_golden, event_golden
from station_agent.outbox import Outbox
from station_agent.state import StateStore
from station_agent.stream.report import OutboxQoe
from station_agent.stream.service import ACTIVE_KEY, StreamService
from station_agent.stream.settings import ProbeSettings
from station_agent.tunables import Tunables
from station_protocol import contract
from station_protocol import stream as wire

from .gateway.conftest import DEVICE
from .stream.simulated import SimClock, SimOrigin
from .test_golden_messages import dispatcher, queued_events, run


def service(store: StateStore, outbox: Outbox) -> StreamService:
    return StreamService(settings=ProbeSettings(), store=store, sink=OutboxQoe(outbox, DEVICE),
                         fetcher_factory=lambda: SimOrigin(SimClock(), link_bps=1e7),
                         device_id=DEVICE)  # fmt: skip


def test_stream_probe_and_stop_answer_the_goldens(
    store: StateStore, outbox: Outbox, tunables: Tunables
) -> None:
    disp = dispatcher(store, outbox, tunables, service(store, outbox).handlers())
    probe = command_golden(wire.PROBE)
    out = run(disp, wire.PROBE, probe["args"])
    assert out == {**probe["output"], "session": out["session"]}  # the session id is the agent's choice
    stop = command_golden(wire.STOP)
    assert run(disp, wire.STOP, stop["args"]) == stop["output"]


def test_stream_qoe_event_has_the_golden_keys(store: StateStore, outbox: Outbox, tunables: Tunables) -> None:
    svc = service(store, outbox)
    disp = dispatcher(store, outbox, tunables, svc.handlers())
    probe = command_golden(wire.PROBE)
    session = run(disp, wire.PROBE, probe["args"])["session"]
    job = store.get_json(ACTIVE_KEY)  # the job the probe thread runs
    assert job is not None
    assert job["session"] == session
    svc.run_job(job, threading.Event())
    [event] = queued_events(outbox)  # the golden until_ms has passed: the probe ends with its last report
    assert event["name"] == wire.QOE
    contract.decode_event(wire.QOE, event["detail"])
    golden = event_golden(wire.QOE)
    assert set(event["detail"]) == set(golden)
    assert (event["detail"]["session"], event["detail"]["url"], event["detail"]["lesson"]) == (
        session,
        probe["args"]["url"],
        probe["args"]["lesson"],
    )
