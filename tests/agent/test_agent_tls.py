"""The real agent over MQTT TLS: it connects to a broker whose certificate its CA signed, not to another."""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from station_controller.devstack import MosquittoService, free_port
from station_protocol import Birth, decode
from tests.agent.test_agent_integration import AgentProcess
from tests.support import BrokerHandle, MqttTestClient, wait_until

pytestmark = pytest.mark.integration
DEVICE = "stb-tls-0001"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)  # noqa: S603


def _make_ca(directory: Path, name: str) -> Path:
    """A throwaway CA (key + self-signed cert) in ``directory``; returns the cert path."""
    directory.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
             "-keyout", "ca.key", "-out", "ca.pem", cwd=directory)  # fmt: skip
    return directory / "ca.pem"


def _server_cert(ca_dir: Path, out: Path) -> tuple[Path, Path]:
    """A broker certificate for 127.0.0.1 signed by the CA in ``ca_dir``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n", encoding="utf-8")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
             "-keyout", "server.key", "-out", "server.csr", cwd=out)  # fmt: skip
    ca, ca_key = str(ca_dir / "ca.pem"), str(ca_dir / "ca.key")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
             "-days", "2", "-extfile", "san.cnf", "-out", "server.pem", cwd=out)  # fmt: skip
    return out / "server.pem", out / "server.key"


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[BrokerHandle, int]]:
    ca_dir = tmp_path / "ca"
    _make_ca(ca_dir, "Station Fleet test CA")
    cert, key = _server_cert(ca_dir, tmp_path / "server")
    service = MosquittoService(data_dir=tmp_path / "mosquitto")
    tls_port = free_port()
    service.config = dataclasses.replace(service.config, tls_port=tls_port, tls_cert=cert, tls_key=key)
    handle = BrokerHandle(service)
    service.start()
    try:
        yield handle, tls_port
    finally:
        service.stop()


def _agent_config(tmp_path: Path, *, port: int, password: str, ca_file: Path) -> Path:
    path = tmp_path / f"agent-{ca_file.parent.name}.toml"
    path.write_text(
        f"""
state_dir = "{tmp_path / ("state-" + ca_file.parent.name)}"
[device]
id = "{DEVICE}"
role = "stb"
[mqtt]
host = "127.0.0.1"
port = {port}
username = "{DEVICE}"
password = "{password}"
tls = true
ca_file = "{ca_file}"
reconnect_min_s = 0.2
reconnect_max_s = 1.0
[telemetry]
interval_s = 1
content_path = "{tmp_path}"
""",
        encoding="utf-8",
    )
    return path


def _births(controller: MqttTestClient) -> list[Birth]:
    messages = controller.received(f"st/v1/{DEVICE}/state")
    bodies = [decode(m.payload).body for m in messages]
    return [b for b in bodies if isinstance(b, Birth)]


def test_agent_connects_over_tls_only_to_a_broker_its_ca_signed(
    tls_broker: tuple[BrokerHandle, int], tmp_path: Path
) -> None:
    broker, tls_port = tls_broker
    password = broker.add_device(DEVICE)
    controller = broker.controller_client()
    assert not controller.connect().is_failure
    controller.subscribe(f"st/v1/{DEVICE}/#")

    stranger_ca = _make_ca(tmp_path / "stranger", "Some other CA")
    untrusting = AgentProcess(
        _agent_config(tmp_path, port=tls_port, password=password, ca_file=stranger_ca), tmp_path / "a1.log"
    )
    untrusting.start()
    try:
        wait_until(
            lambda: "certificate verify failed" in (tmp_path / "a1.log").read_text(errors="replace"),
            timeout=30,
            message="the agent refuses a broker certificate its CA did not sign",
        )
        assert _births(controller) == []
    finally:
        untrusting.ensure_dead()

    trusting = AgentProcess(
        _agent_config(tmp_path, port=tls_port, password=password, ca_file=tmp_path / "ca" / "ca.pem"),
        tmp_path / "a2.log",
    )
    trusting.start()
    try:
        births = wait_until(lambda: _births(controller), timeout=30, message="birth over TLS")
        assert births[0].role == "stb"
        assert trusting.terminate() == 0
    finally:
        trusting.ensure_dead()
        controller.close()
