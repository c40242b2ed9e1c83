"""Each role loads only its own package: the runtime built for ``stb`` never imports the gateway, the one
built for ``router`` never imports the content sync, and neither loads at start what only a running
content job, an enabled portal or an enrollment needs (cryptography, http.server, http.client, email,
urllib.request) -- yet those still import for real afterwards (paho is loaded with a placeholder).

Each role is built in a fresh interpreter (the test process itself has imported everything), with the
real adapters the agent's ``run`` uses (MqttLink, PsutilMetrics, SubprocessRunner); nothing connects.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest

BUILD = """
import json, sys
from pathlib import Path
from station_agent.config import AgentConfig, CommandSettings, DeviceSettings, MqttSettings, TelemetrySettings
from station_agent.enrollment import Identity
from station_agent.process import SubprocessRunner
from station_agent.runtime import Agent
from station_agent.system_metrics import PsutilMetrics

role, tmp = sys.argv[1], Path(sys.argv[2])
device = f"{role}-imports-1"
cfg = AgentConfig(
    device=DeviceSettings(id=device, role=role),
    mqtt=MqttSettings(host="127.0.0.1"),
    telemetry=TelemetrySettings(content_path=str(tmp)),
    commands=CommandSettings(reboot_dry_run=True),
    state_dir=tmp / "state",
)
identity = Identity(device_id=device, role=role, mqtt_host="127.0.0.1", mqtt_port=1883,
                    mqtt_username=device, mqtt_password="x" * 20, mqtt_tls=False, controller_url="")
agent = Agent(cfg, identity, metrics=PsutilMetrics(str(tmp)), runner=SubprocessRunner())
modules = sorted(sys.modules)
import http.client, urllib.request
later = {"urlopen": hasattr(urllib.request, "urlopen"), "https": hasattr(http.client, "HTTPSConnection")}
print(json.dumps({"modules": modules, "capabilities": list(agent.capabilities), "later": later}))
agent.store.close()
"""


def build_in_fresh_interpreter(role: str, tmp: Path) -> Dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", BUILD, role, str(tmp)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result: Dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def loaded(modules: list[str], package: str) -> list[str]:
    return [m for m in modules if m == package or m.startswith(package + ".")]


@pytest.mark.parametrize(
    ("role", "own", "other", "own_command"),
    [
        ("stb", "station_agent.content", "station_agent.gateway", "content.sync"),
        ("router", "station_agent.gateway", "station_agent.content", "portal.allow"),
    ],
)
def test_role_imports_only_its_own_package(
    tmp_path: Path, role: str, own: str, other: str, own_command: str
) -> None:
    built = build_in_fresh_interpreter(role, tmp_path)
    modules = built["modules"]
    assert own_command in built["capabilities"]
    assert loaded(modules, own), f"{role} did not load {own}: the check below would prove nothing"
    assert loaded(modules, other) == []
    assert loaded(modules, "cryptography") == []  # loaded on the first manifest check, not at start
    assert "paho.mqtt.client" in modules
    for heavy in ("http.server", "http.client", "email", "urllib.request"):
        assert loaded(modules, heavy) == [], heavy
    assert built["later"] == {"urlopen": True, "https": True}  # the placeholder did not stay behind
