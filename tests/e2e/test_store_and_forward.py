"""Broker down, agent keeps sampling, agent killed -9 and restarted, broker back: every sample lands once."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import LiveStack
from tests.support import wait_until

pytestmark = pytest.mark.e2e


def _queued_telemetry(live: LiveStack) -> int:
    with sqlite3.connect(f"file:{live.agent_state_db}?mode=ro", uri=True, timeout=10) as conn:
        return int(conn.execute("SELECT count(*) FROM outbox WHERE kind = 'telemetry'").fetchone()[0])


def _stored_samples(live: LiveStack) -> list[tuple[int, int]]:
    """(timestamp ms, seq) of every stored telemetry sample of the demo device, oldest first."""
    reply = httpx.get(
        f"{live.stack.settings.tsdb_url}/api/v1/export",
        params={"match[]": f'telemetry_seq{{device="{live.demo_device_id}"}}'},
        timeout=30,
    )
    reply.raise_for_status()
    samples: list[tuple[int, int]] = []
    for line in reply.text.splitlines():
        series: dict[str, Any] = httpx.Response(200, content=line).json()
        samples.extend(zip(series["timestamps"], (int(v) for v in series["values"])))
    return sorted(samples)


def test_outage_restart_and_kill9_lose_nothing_and_duplicate_nothing(live_stack: LiveStack) -> None:
    live = live_stack
    wait_until(lambda: len(_stored_samples(live)) >= 2, timeout=180, interval=1, message="telemetry flowing")

    live.broker.stop()
    broker_down_ms = int(time.time() * 1000)
    wait_until(
        lambda: _queued_telemetry(live) >= 2, timeout=120, interval=0.5, message="samples queued offline"
    )
    live.kill_agent()
    queued_at_kill = _queued_telemetry(live)
    live.start_agent()
    wait_until(
        lambda: _queued_telemetry(live) >= queued_at_kill + 2,
        timeout=120,
        interval=0.5,
        message="the restarted agent keeps sampling while the broker is down",
    )
    broker_up_ms = int(time.time() * 1000)
    live.broker.start()
    wait_until(lambda: _queued_telemetry(live) == 0, timeout=180, interval=0.5, message="outbox drained")

    with sqlite3.connect(f"file:{live.agent_state_db}?mode=ro", uri=True) as conn:
        last_seq = int(conn.execute("SELECT value FROM counters WHERE name = 'telemetry_seq'").fetchone()[0])
    samples = wait_until(
        lambda: (s := _stored_samples(live)) and s[-1][1] >= last_seq and s,
        timeout=180,
        interval=1,
        message=f"seq {last_seq} stored",
    )
    seqs = [seq for _, seq in samples]
    assert seqs == list(range(seqs[0], seqs[-1] + 1)), "every sampled seq is stored exactly once, in order"
    stamps = [ts for ts, _ in samples]
    assert stamps == sorted(set(stamps)), "original timestamps, strictly increasing"
    offline = [ts for ts in stamps if broker_down_ms <= ts <= broker_up_ms]
    assert len(offline) >= 4, "samples taken during the outage keep their sampling time, not arrival time"
