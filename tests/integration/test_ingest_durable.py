"""Durable ingest: kill -9 of a real controller ingest process while 1,000 simulated devices publish;
after a restart every uplink the broker acknowledged to the devices is in VictoriaMetrics exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from station_controller.broker import BrokerAccount, generate_password, hash_password
from station_controller.devstack import MosquittoService
from station_simulator import SimulationConfig, SimulationSummary, run_simulation
from station_simulator.local import local_fleet
from tests.integration.ingest_rig import make_registry
from tests.support import VictoriaHandle, wait_until

pytestmark = pytest.mark.integration
DEVICES = 1000
SAMPLES = 20  # per device, one a second: the stream lasts ~20 s
REPO = Path(__file__).resolve().parents[2]
SERIES = 'telemetry_seq{device=~"stb-kill-.*"}'


class IngestProcess:
    """``python -m tests.integration.ingest_child`` with the given STATION_* environment."""

    def __init__(self, env: dict[str, str], log_file: Path) -> None:
        self._log = log_file.open("a", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.ingest_child"],
            cwd=REPO,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready", f"ingest child not ready; see {log_file}"

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()


@pytest.fixture
def fleet_broker(tmp_path: Path) -> Iterator[tuple[MosquittoService, list, str]]:
    """A broker of its own with 1,000 device accounts and a controller account (one reload)."""
    broker = MosquittoService(data_dir=tmp_path / "mosquitto")
    broker.start()
    try:
        creds = local_fleet(DEVICES, host=broker.host, port=broker.port, prefix="kill")
        accounts = [BrokerAccount(c.mqtt_username, hash_password(c.mqtt_password)) for c in creds]
        password = generate_password()
        broker.accounts.write([*accounts, BrokerAccount("controller", hash_password(password))])
        yield broker, creds, password
    finally:
        broker.stop()


def _stored(victoria: VictoriaHandle, fn: str = "count_over_time") -> list[dict]:
    return victoria.query(f"{fn}({SERIES}[1h])")


def _total(victoria: VictoriaHandle) -> int:
    return int(sum(float(row["value"][1]) for row in _stored(victoria)))


def test_kill_9_of_the_ingest_while_1000_devices_publish_loses_and_duplicates_nothing(
    tmp_path: Path, fleet_broker: tuple[MosquittoService, list, str], victoria: VictoriaHandle
) -> None:
    broker, creds, password = fleet_broker
    make_registry(tmp_path, [c.device_id for c in creds])
    env = {
        "STATION_DATA_DIR": str(tmp_path),
        "STATION_DATABASE_URL": f"sqlite:///{tmp_path / 'registry.db'}",
        "STATION_SECRET_KEY": "test-secret-key-0123456789abcdef",
        "STATION_MQTT_HOST": broker.host,
        "STATION_MQTT_PORT": str(broker.port),
        "STATION_MQTT_USERNAME": "controller",
        "STATION_MQTT_PASSWORD": password,
        "STATION_TSDB_URL": victoria.url,
        # The writer flushes once a second (not on a full batch), so the kill below, half-way between
        # two flushes, always finds ~half a second of uplinks taken from the broker but not yet stored.
        "STATION_INGEST_FLUSH_INTERVAL_S": "1.0",
        "STATION_TSDB_BATCH_POINTS": "1000000",
        "STATION_OFFLINE_AFTER_S": "600",
    }
    log_file = tmp_path / "ingest-child.log"
    first = IngestProcess(env, log_file)
    summary: list[SimulationSummary] = []
    config = SimulationConfig(
        credentials=tuple(creds),
        interval_s=1.0,
        messages_per_device=SAMPLES,
        processes=1,
        connect_rate_per_s=1000.0,
        report_interval_s=1.0,
        drain_timeout_s=120.0,
    )
    sim = threading.Thread(target=lambda: summary.append(run_simulation(config)), daemon=True)
    sim.start()
    second: IngestProcess | None = None
    try:
        wait_until(lambda: _total(victoria) >= 3 * DEVICES, timeout=120, message="first samples stored")
        time.sleep(0.5)  # the count just moved, so a flush just happened: kill half-way to the next one
        assert sim.is_alive(), "the devices must still be publishing when the controller dies"
        first.kill()
        first.stop()
        killed_at = _total(victoria)
        assert killed_at < DEVICES * SAMPLES
        second = IngestProcess(env, log_file)
        sim.join(timeout=300)
        assert summary, "simulation did not finish"
        acked = summary[0].stats.telemetry_acked
        assert acked == DEVICES * SAMPLES, "the broker acknowledged every uplink to the devices"
        wait_until(lambda: _total(victoria) >= acked, timeout=180, message="every acknowledged uplink stored")
    finally:
        first.stop()
        if second is not None:
            second.stop()
    counts = {row["metric"]["device"]: float(row["value"][1]) for row in _stored(victoria)}
    sums = {row["metric"]["device"]: float(row["value"][1]) for row in _stored(victoria, "sum_over_time")}
    assert len(counts) == DEVICES
    assert {count for count in counts.values()} == {float(SAMPLES)}
    assert {total for total in sums.values()} == {float(SAMPLES * (SAMPLES + 1) // 2)}  # seq 1..SAMPLES
