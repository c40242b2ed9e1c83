"""The composed agent with fake adapters: birth contents, telemetry, commands and config end to end."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable, Iterator, List

import pytest

from station_agent import AGENT_VERSION
from station_agent.config import AgentConfig, CommandSettings, DeviceSettings, MqttSettings, TelemetrySettings
from station_agent.enrollment import Identity
from station_agent.mqtt import Inbound, Link, LinkOptions
from station_agent.runtime import Agent
from station_protocol import Birth, Command, ConfigDesired, Result, Telemetry, decode, encode, make, now_ms
from station_protocol.content import FORMAT_V2_CAPABILITY
from tests.support import wait_until

from .conftest import DEVICE
from .fakes import FakeLink, FakeRunner, FakeSystemMetrics, sample

IDENTITY = Identity(
    device_id=DEVICE,
    role="stb",
    mqtt_host="127.0.0.1",
    mqtt_port=1883,
    mqtt_username=DEVICE,
    mqtt_password="x" * 20,
    mqtt_tls=False,
    controller_url="",
)


class Built:
    def __init__(self) -> None:
        self.link = FakeLink()
        self.options: List[LinkOptions] = []
        self.next_session: Callable[[], int] = lambda: 0
        self.birth: Callable[[int], Birth] = lambda s: Birth("", "stb", "", s)

    def factory(
        self, options: LinkOptions, next_session: Callable[[], int], birth: Callable[[int], Birth]
    ) -> Link:
        self.options.append(options)
        self.next_session, self.birth = next_session, birth
        return self.link


@pytest.fixture
def built(tmp_path: Path) -> Iterator[tuple[Agent, Built]]:
    cfg = AgentConfig(
        device=DeviceSettings(id=DEVICE, role="stb"),
        mqtt=MqttSettings(host="127.0.0.1", keepalive=15),
        telemetry=TelemetrySettings(interval_s=1.0, content_path=str(tmp_path)),
        commands=CommandSettings(reboot_dry_run=True),
        state_dir=tmp_path / "state",
    )
    holder = Built()
    agent = Agent(
        cfg,
        IDENTITY,
        metrics=FakeSystemMetrics([sample(0.0, [("eth0", 0, 0)])]),
        runner=FakeRunner(),
        link_factory=holder.factory,
    )
    yield agent, holder
    agent.store.close()


def test_birth_carries_identity_hardware_capabilities_and_a_growing_session(
    built: tuple[Agent, Built],
) -> None:
    agent, holder = built
    assert holder.options[0].keepalive == 15
    assert holder.options[0].username == DEVICE
    assert [holder.next_session(), holder.next_session()] == [1, 2]
    birth = holder.birth(2)
    assert (birth.agent_version, birth.role, birth.session, birth.config_version) == (
        AGENT_VERSION,
        "stb",
        2,
        0,
    )
    assert {"ping", "reboot", "diagnostics"} <= set(birth.capabilities)
    assert birth.hardware["arch"] == "armv7l"
    assert birth.boot_id


def test_an_stb_birth_says_it_syncs_content_format_2(built: tuple[Agent, Built]) -> None:
    _, holder = built
    capabilities = holder.birth(1).capabilities
    assert FORMAT_V2_CAPABILITY in capabilities  # the controller sends it format 2 (snapshot_url)
    assert len(set(capabilities)) == len(capabilities)


def test_running_agent_reports_answers_commands_and_applies_config(built: tuple[Agent, Built]) -> None:
    agent, holder = built
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,))
    thread.start()
    try:
        link = holder.link
        cmd = make(DEVICE, Command(name="reboot", expires_at=now_ms() + 60_000), msg_id="a" * 32)
        acked = threading.Event()
        link.inbound.put(Inbound(f"st/v1/{DEVICE}/cmd", encode(cmd), now_ms(), acked.set))
        desired = make(DEVICE, ConfigDesired(version=4, config={"telemetry.interval_s": 2}))
        link.inbound.put(Inbound(f"st/v1/{DEVICE}/config/desired", encode(desired), now_ms()))

        def bodies(suffix: str) -> List[Any]:
            return [decode(p).body for p in link.payloads(suffix)]

        wait_until(lambda: len(bodies("/telemetry")) >= 2, timeout=10, message="two telemetry samples")
        result = wait_until(lambda: bodies("/result"), timeout=10)[0]
        assert acked.wait(10), "the command is acknowledged to the broker after its result was committed"
        assert isinstance(result, Result)
        assert result.status == "ok"
        assert result.output["dry_run"] is True
        report = wait_until(lambda: bodies("/config/reported"), timeout=10)[0]
        assert (report.version, report.status) == (4, "applied")
        seqs = [b.seq for b in bodies("/telemetry") if isinstance(b, Telemetry)]
        assert seqs == sorted(seqs)
        assert seqs[0] == 1
        assert holder.birth(9).config_version == 4
    finally:
        stop.set()
        thread.join(15)
    assert not thread.is_alive()
    assert holder.link.started
    assert holder.link.stopped
