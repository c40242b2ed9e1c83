"""The hostile suite's fleet: the real stack, honest devices publishing for the whole module, one hostile
device with its own enrolled credentials, and /readyz polled from start to end."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator

import pytest

from .fleet import Fleet, demo_agent
from .honest import HonestDevice, RealAgent
from .lab import running_stack
from .observe import ReadyzPoller, Tsdb

HONEST_DEVICES = 4


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    with running_stack(tmp_path_factory.mktemp("hostile-stack")) as lab:
        poller = ReadyzPoller(lab.url)
        poller.start()
        honest: list[HonestDevice] = []
        try:
            lab.ensure_station()
            honest += [HonestDevice(lab, lab.enroll()) for _ in range(HONEST_DEVICES)]
            hostile = lab.enroll()
            extra_id, extra_db = lab.start_agent("honest-agent-1")
            agents = [demo_agent(lab), RealAgent(extra_id, extra_db)]
            for device in honest:
                device.start()
            fleet = Fleet(lab, hostile, honest, agents, poller, Tsdb(lab.tsdb_url), time.time())
            fleet.assert_unharmed(time.time())  # the baseline: everything works before any attack
            yield fleet
        finally:
            for device in honest:
                device.stop()
            poller.stop()
            # Every /readyz answer of the run, kept beside the stack's logs for whoever reads a failure.
            readings = (json.dumps(dataclasses.asdict(r)) + "\n" for r in poller.readings)
            (lab.stack.logs / "readyz-readings.jsonl").write_text("".join(readings), encoding="utf-8")
