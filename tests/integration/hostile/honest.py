"""Honest devices: real paho sessions that publish a retained birth and then protocol-correct telemetry
with increasing seq, resending a sample until the broker acknowledges it (as the agent's outbox does)."""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from station_protocol import Birth, Channel, Telemetry, encode, make, now_ms, topic

from .lab import Enrolled, Lab

log = logging.getLogger(__name__)
PERIOD_S = 0.2  # 5 samples a second: well inside any sane per-device budget, fast enough to matter


def sample(seq: int) -> Telemetry:
    return Telemetry(
        seq=seq,
        interval_s=PERIOD_S,
        cpu_pct=5.0,
        load1=0.2,
        mem_total=512 * 1024 * 1024,
        mem_used=200 * 1024 * 1024,
        disk_total=8 * 1024**3,
        disk_used=1024**3,
        uptime_s=1000.0 + seq,
    )


@dataclass
class Sent:
    """What the broker acknowledged, in order: (seq, envelope ts ms)."""

    acked: list[tuple[int, int]]
    resends: int
    disconnects: int


class HonestDevice:
    """One device on its own thread; ``stop()`` returns what the broker acknowledged."""

    def __init__(self, lab: Lab, who: Enrolled) -> None:
        self.who = who
        self.device_id = who.device_id
        self._client = lab.mqtt_client(who, client_id=who.device_id)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._acked: list[tuple[int, int]] = []
        self._resends = 0
        self._thread = threading.Thread(target=self._run, name=f"honest-{who.device_id}", daemon=True)

    def start(self) -> None:
        reason = self._client.connect()
        assert not reason.is_failure, f"{self.device_id}: CONNACK {reason}"
        birth = Birth(agent_version="1.0.0-honest", role="stb", boot_id="boot-honest", session=1)
        state = encode(make(self.device_id, birth))
        assert not self._client.publish(topic(self.device_id, Channel.STATE), state, retain=True).is_failure
        self._thread.start()

    def acked(self) -> list[tuple[int, int]]:
        with self._lock:
            return list(self._acked)

    def last_acked_seq(self) -> int:
        with self._lock:
            return self._acked[-1][0] if self._acked else -1

    @property
    def disconnects(self) -> int:
        return len(self._client.disconnects)

    def stop(self) -> Sent:
        self._stop.set()
        if self._thread.ident is not None:  # also safe for a device that never started
            self._thread.join(30)
        kicked = self.disconnects  # before our own clean disconnect below
        self._client.close()
        with self._lock:
            return Sent(list(self._acked), self._resends, kicked)

    def _run(self) -> None:
        seq, last_ts = 0, 0
        while not self._stop.is_set():
            ts = max(now_ms(), last_ts + 2)  # distinct sample times, far above the 1 ms dedup interval
            payload = encode(make(self.device_id, sample(seq), ts=ts))
            while not self._send(payload):
                with self._lock:
                    self._resends += 1
                if self._stop.wait(0.5):
                    return
            with self._lock:
                self._acked.append((seq, ts))
            seq, last_ts = seq + 1, ts
            self._stop.wait(PERIOD_S)

    def _send(self, payload: bytes) -> bool:
        try:
            reason = self._client.publish(topic(self.device_id, Channel.TELEMETRY), payload, timeout=5)
        except AssertionError as exc:  # not sent or no PUBACK in time: resend the same message
            log.warning("%s: telemetry not acknowledged (%s); resending", self.device_id, exc)
            return False
        return not reason.is_failure


@dataclass(frozen=True)
class RealAgent:
    """A running station_agent and where its persistent seq counter lives."""

    device_id: str
    state_db: Path

    def numbered(self) -> int:
        """The last seq the agent numbered (committed with the outbox row, so it will be sent)."""
        if not self.state_db.exists():
            return 0
        conn = sqlite3.connect(f"file:{self.state_db}?mode=ro", uri=True, timeout=5)
        try:
            row = conn.execute("SELECT value FROM counters WHERE name = 'telemetry_seq'").fetchone()
        except sqlite3.OperationalError:
            return 0
        finally:
            conn.close()
        return int(row[0]) if row else 0
