"""The real agent process against a real Mosquitto: birth, telemetry, outage, kill -9, exactly-once."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from station_protocol import Birth, Command, Death, Envelope, Result, Telemetry, decode, encode, make, now_ms
from tests.support import BrokerHandle, wait_until

pytestmark = pytest.mark.integration


class DurableSubscriber:
    """Controller-side client with a persistent session: the broker keeps its messages across restarts."""

    def __init__(self, broker: BrokerHandle, topic_filter: str) -> None:
        self._lock = threading.Lock()
        self.messages: List[Tuple[str, bytes, bool]] = []
        self._filter = topic_filter
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"it-ctl-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
        )
        self._client.username_pw_set(broker.controller_username, broker.controller_password)
        self._client.reconnect_delay_set(min_delay=1, max_delay=1)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 600
        self._client.connect(broker.host, broker.port, keepalive=10, clean_start=False, properties=props)
        self._client.loop_start()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not reason.is_failure:
            client.subscribe(self._filter, qos=1)

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

    def envelopes(self, suffix: str) -> List[Envelope]:
        with self._lock:
            return [decode(payload) for topic, payload, _ in self.messages if topic.endswith(suffix)]

    def send_command(self, device_id: str, command: Envelope) -> None:
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.MessageExpiryInterval = 60  # the broker drops it if the device stays away longer
        info = self._client.publish(f"st/v1/{device_id}/cmd", encode(command), qos=1, properties=props)
        info.wait_for_publish(10)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


class AgentProcess:
    """``python -m station_agent --config ...`` in a subprocess, logging to a file in the test dir."""

    def __init__(self, config: Path, log: Path) -> None:
        self._config = config
        self._log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self._log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "station_agent",
                    "--config",
                    str(self._config),
                    "--log-level",
                    "DEBUG",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self) -> int:
        assert self.proc is not None
        self.proc.terminate()
        return self.proc.wait(30)

    def ensure_dead(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def write_config(tmp_path: Path, device: str, password: str, broker: BrokerHandle) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(
        f"""
state_dir = "{tmp_path / "state"}"
[device]
id = "{device}"
role = "stb"
[mqtt]
host = "{broker.host}"
port = {broker.port}
username = "{device}"
password = "{password}"
keepalive = 10
reconnect_min_s = 0.2
reconnect_max_s = 1.0
[telemetry]
interval_s = 1
content_path = "{tmp_path}"
[commands]
reboot_dry_run = true
""",
        encoding="utf-8",
    )
    return path


def sampled(state_db: Path) -> int:
    """The agent's persisted telemetry seq, read without disturbing it."""
    conn = sqlite3.connect(f"file:{state_db}?mode=ro", uri=True, timeout=5)
    try:
        row = conn.execute("SELECT value FROM counters WHERE name = 'telemetry_seq'").fetchone()
    finally:
        conn.close()
    return int(row[0]) if row else 0


@pytest.fixture
def device(broker: BrokerHandle) -> Iterator[Tuple[str, str]]:
    name = f"stb-it-{uuid.uuid4().hex[:8]}"
    yield name, broker.add_device(name)
    broker.remove_device(name)


def test_every_sample_arrives_once_in_order_across_outage_and_kill_9(
    broker: BrokerHandle, device: Tuple[str, str], tmp_path: Path
) -> None:
    device_id, password = device
    sub = DurableSubscriber(broker, f"st/v1/{device_id}/#")
    agent = AgentProcess(write_config(tmp_path, device_id, password, broker), tmp_path / "agent.log")
    state_db = tmp_path / "state" / "state.db"
    try:
        agent.start()
        births = wait_until(
            lambda: [e for e in sub.envelopes("/state") if isinstance(e.body, Birth)], timeout=20
        )
        birth = births[0].body
        assert isinstance(birth, Birth)
        assert (birth.role, birth.session, birth.hardware["cpu_count"] >= 1) == ("stb", 1, True)
        ping = make(device_id, Command(name="ping", expires_at=now_ms() + 60_000, args={"n": 7}))
        sub.send_command(device_id, ping)
        result = wait_until(lambda: [e.body for e in sub.envelopes("/result")], timeout=20)[0]
        assert isinstance(result, Result)
        assert (result.command_id, result.status, result.output["echo"]) == (ping.id, "ok", {"n": 7})
        wait_until(
            lambda: len(sub.envelopes("/telemetry")) >= 3, timeout=20, message="telemetry before outage"
        )

        broker.stop()
        outage_started = now_ms()
        before_kill = sampled(state_db)
        wait_until(
            lambda: sampled(state_db) >= before_kill + 3, timeout=20, message="samples while broker down"
        )
        agent.kill9()
        agent.start()
        after_restart = sampled(state_db)
        wait_until(
            lambda: sampled(state_db) >= after_restart + 2, timeout=20, message="samples after restart"
        )
        broker.start()
        broker_back = now_ms()

        last_offline_seq = sampled(state_db)
        wait_until(
            lambda: _max_seq(sub) >= last_offline_seq + 2,
            timeout=30,
            message="backlog delivered after the outage",
        )
        assert agent.terminate() == 0
        wait_until(lambda: _graceful_death(sub), timeout=10, message="graceful death on SIGTERM")
    finally:
        agent.ensure_dead()
        if not broker.service.running:
            broker.start()
        sub.close()

    samples = _dedup(sub.envelopes("/telemetry"))
    seqs = [body.seq for _, body in samples]
    assert seqs == list(range(1, len(seqs) + 1)), "every seq once, in order, no gaps"
    stamps = [env.ts for env, _ in samples]
    assert stamps == sorted(stamps)
    offline = [env for env, body in samples if outage_started <= env.ts < broker_back]
    assert len(offline) >= 5, "samples taken during the outage keep their original timestamps"


def _dedup(envelopes: List[Envelope]) -> List[Tuple[Envelope, Telemetry]]:
    seen: Dict[str, bool] = {}
    kept: List[Tuple[Envelope, Telemetry]] = []
    for env in envelopes:
        if env.id in seen:
            continue
        seen[env.id] = True
        assert isinstance(env.body, Telemetry)
        kept.append((env, env.body))
    return kept


def _max_seq(sub: DurableSubscriber) -> int:
    return max((e.body.seq for e in sub.envelopes("/telemetry") if isinstance(e.body, Telemetry)), default=0)


def _graceful_death(sub: DurableSubscriber) -> bool:
    states = [e.body for e in sub.envelopes("/state")]
    return bool(states) and isinstance(states[-1], Death) and states[-1].graceful
