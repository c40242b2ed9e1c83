"""Alerting test helpers: a real Alertmanager started from settings, and an HTTP receiver that records
what is posted to it (a stand-in for a DingTalk/WeCom robot or a generic webhook)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from station_controller.alerts import amconfig
from station_controller.devstack import free_port
from station_controller.devstack.alertmanager import AlertmanagerService
from station_controller.settings import Settings


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: Any


class RecordingReceiver:
    """HTTP server on a free loopback port; every POST is kept; answers like a robot (errcode 0)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", errors="replace")
                with owner._lock:
                    owner.received.append(Received(self.path, dict(self.headers.items()), body))
                reply = b'{"errcode":0,"errmsg":"ok"}'
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="test-receiver", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def bodies(self, path_prefix: str = "/") -> list[Any]:
        with self._lock:
            return [r.body for r in self.received if r.path.startswith(path_prefix)]


@contextmanager
def recording_receiver() -> Iterator[RecordingReceiver]:
    receiver = RecordingReceiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


@contextmanager
def running_alertmanager(data_dir: Path, settings: Settings) -> Iterator[AlertmanagerService]:
    """Alertmanager with the configuration the controller generates from ``settings``."""
    service = AlertmanagerService(data_dir=data_dir, config_text=amconfig.render(settings))
    service.start()
    try:
        yield service
    finally:
        service.stop()


def webhook_body(
    *,
    status: str = "firing",
    device: str = "stb-1",
    alertname: str = "DeviceOffline",
    fingerprint: str = "ab12",
) -> dict[str, Any]:
    """An Alertmanager webhook body (version 4) with one alert."""
    alert = {
        "status": status,
        "labels": {"alertname": alertname, "device": device, "severity": "warning"},
        "annotations": {"summary": f"{device} sent no telemetry for 5m"},
        "startsAt": "2026-01-01T08:00:00Z",
        "endsAt": "2026-01-01T09:00:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://vmalert/rule",
        "fingerprint": fingerprint,
    }
    return {
        "version": "4",
        "groupKey": '{}:{alertname="DeviceOffline"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "controller",
        "groupLabels": {"alertname": alertname},
        "commonLabels": alert["labels"],
        "commonAnnotations": alert["annotations"],
        "externalURL": "http://alertmanager",
        "alerts": [alert],
    }
