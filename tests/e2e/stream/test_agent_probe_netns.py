"""A real STB agent process behind a tbf-shaped link probes real ffmpeg HLS from the centre namespace.

    stb ns  s0 10.79.1.2 ──veth── c0 10.79.1.1  centre ns: Mosquitto, ffmpeg live HLS (1200k + 400k)
    (python -m station_agent,       (tbf on c0)    + origin
     role stb)

The controller's side is played by mosquitto_pub (the ``stream.probe`` command) and mosquitto_sub (the
agent's ``stream.qoe`` events) with a controller account. The agent reports
the top variant on a fast link, the low one without stalls between the variants, stalls below the low
one. Nothing is timed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from station_controller.broker import BrokerAccount, generate_password, hash_password
from station_controller.devstack import MosquittoService
from station_protocol import Channel, Command, encode, make, now_ms, topic
from station_simulator.local import local_fleet
from tests.support import wait_until
from tests.support.netns import NetnsLab, entered, popen_in, run_in, stop_process

CENTRE_IP, STB_IP, HLS_PORT, MQTT_PORT = "10.79.1.1", "10.79.1.2", 8090, 1883
TOP, LOW = 1_320_000, 440_000


def agent_config(path: Path, cred: Any, state: Path) -> None:
    path.write_text(
        f"""state_dir = "{state}"
[device]
id = "{cred.device_id}"
role = "stb"
[mqtt]
host = "{CENTRE_IP}"
port = {MQTT_PORT}
username = "{cred.mqtt_username}"
password = "{cred.mqtt_password}"
[telemetry]
interval_s = 30
content_path = "{state}"
[commands]
reboot_dry_run = true
""",
        encoding="utf-8",
    )


def mosquitto(tool: str, password: str, *args: str) -> list[str]:
    return [tool, "-h", CENTRE_IP, "-p", str(MQTT_PORT), "-u", "controller", "-P", password, *args]


@pytest.mark.parametrize("kbit", [10_000, 1_000, 300], ids=["above-top", "between", "below-low"])
def test_real_agent_behind_a_shaped_link(tmp_path: Path, kbit: int) -> None:
    with NetnsLab(prefix=f"probe-{time.time_ns() % 100000}") as lab:
        centre, stb = lab.add("centre"), lab.add("stb")
        lab.veth(centre, "c0", stb, "s0")
        lab.address(centre, "c0", f"{CENTRE_IP}/24")
        lab.address(stb, "s0", f"{STB_IP}/24")
        with entered(centre):  # the broker's process and its readiness check live in the centre
            broker = MosquittoService(data_dir=tmp_path / "mosquitto", host=CENTRE_IP, port=MQTT_PORT)
            cred = local_fleet(1, host=CENTRE_IP, port=MQTT_PORT, prefix="pr")[0]
            password = generate_password()
            broker.accounts.write(
                [
                    BrokerAccount(cred.mqtt_username, hash_password(cred.mqtt_password)),
                    BrokerAccount("controller", hash_password(password)),
                ]
            )
            broker.start()
        hls_argv = [sys.executable, "-m", "station_controller.devstack.hls", "--dir", str(tmp_path / "hls")]
        origin = popen_in(
            centre, [*hls_argv, "--host", CENTRE_IP, "--port", str(HLS_PORT)], log_file=tmp_path / "o.log"
        )
        events_log = tmp_path / "events.jsonl"
        out = events_log.open("wb")
        sub = subprocess.Popen(  # noqa: S603 - our argv
            [
                "ip",
                "netns",
                "exec",
                centre,
                *mosquitto("mosquitto_sub", password, "-q", "1", "-t", f"st/v1/{cred.device_id}/event"),
            ],
            stdout=out,
            stderr=subprocess.DEVNULL,
        )
        config = tmp_path / "agent.toml"
        agent_config(config, cred, tmp_path / "state")
        agent = popen_in(
            stb,
            [sys.executable, "-m", "station_agent", "--config", str(config)],
            log_file=tmp_path / "agent.log",
        )
        try:
            wait_until(lambda: (tmp_path / "hls" / "v1_index.m3u8").exists(), timeout=90, message="live HLS")
            run_in(
                centre,
                [
                    "tc",
                    "qdisc",
                    "replace",
                    "dev",
                    "c0",
                    "root",
                    "tbf",
                    "rate",
                    f"{kbit}kbit",
                    "burst",
                    "16kb",
                    "latency",
                    "800ms",
                ],
            )
            time.sleep(3)  # the agent connects and subscribes (the command is QoS 1 either way)
            args = {
                "url": f"http://{CENTRE_IP}:{HLS_PORT}/master.m3u8",
                "until_ms": now_ms() + 120_000,
                "lesson": "ns",
            }
            body = Command(name="stream.probe", expires_at=now_ms() + 60_000, timeout_s=30.0, args=args)
            payload = encode(make(cred.device_id, body)).decode()
            run_in(
                centre,
                mosquitto(
                    "mosquitto_pub",
                    password,
                    "-q",
                    "1",
                    "-t",
                    topic(cred.device_id, Channel.CMD),
                    "-m",
                    payload,
                ),
            )

            def reports() -> list[dict[str, Any]]:
                lines = events_log.read_text(encoding="utf-8").splitlines()
                bodies = [json.loads(line)["body"] for line in lines if line.strip()]
                return [b["detail"] for b in bodies if b.get("name") == "stream.qoe"]

            wait_until(
                lambda: len(reports()) >= 4, timeout=120, message="four stream.qoe reports from the agent"
            )
            last = reports()[-1]
        finally:
            for proc in (agent, sub, origin):
                stop_process(proc)
            out.close()
            with entered(centre):
                broker.stop()
    assert last["source"] == "probe"
    assert last["lesson"] == "ns"
    assert last["segments"] >= 5
    assert last["startup_s"] is not None
    assert last["errors"] == {}
    if kbit == 10_000:  # well above the top variant
        assert (last["bitrate_bps"], last["stall_count"]) == (TOP, 0)
    elif kbit == 1_000:  # between the variants
        assert (last["bitrate_bps"], last["stall_count"]) == (LOW, 0)
    else:  # below the low variant
        assert last["bitrate_bps"] == LOW
        assert last["stall_count"] >= 1
        assert last["rebuffer_ratio"] > 0.0
