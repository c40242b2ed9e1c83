"""Handles on the dev-stack services that the session fixtures in tests/conftest.py hand to tests."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import Any

import httpx

from station_controller.broker import BrokerAccount, BrokerAccountFiles, generate_password, hash_password
from station_controller.devstack import MosquittoService, VictoriaService

from .mqtt import MqttTestClient


class BrokerHandle:
    """The test broker: connection details, the controller account and per-device accounts."""

    def __init__(self, service: MosquittoService, *, controller_username: str = "controller") -> None:
        self.service = service
        self.controller_username = controller_username
        self.controller_password = generate_password()
        self._lock = threading.Lock()
        self._hashes: dict[str, str] = {controller_username: hash_password(self.controller_password)}
        self._service_users = [controller_username]
        self._observers = itertools.count(1)
        self._write()

    @property
    def host(self) -> str:
        return self.service.host

    @property
    def port(self) -> int:
        return self.service.port

    @property
    def data_dir(self) -> Path:
        return self.service.data_dir

    @property
    def accounts(self) -> BrokerAccountFiles:
        return self.service.accounts

    def add_device(self, device_id: str, password: str | None = None) -> str:
        """Give ``device_id`` a broker account (username = device id), reload, return its password."""
        password = password or generate_password()
        with self._lock:
            self._hashes[device_id] = hash_password(password)
            self._write()
        return password

    def add_service_account(self, username: str, password: str | None = None) -> str:
        """Give ``username`` a controller account (all uplinks and downlinks), reload, return its password."""
        password = password or generate_password()
        with self._lock:
            self._hashes[username] = hash_password(password)
            if username not in self._service_users:
                self._service_users.append(username)
            self._write()
        return password

    def remove_device(self, device_id: str) -> None:
        """Delete the account and reload; Mosquitto disconnects the device's live session."""
        with self._lock:
            self._hashes.pop(device_id, None)
            self._write()

    def client(
        self, username: str | None, password: str | None, client_id: str | None = None
    ) -> MqttTestClient:
        """A not yet connected MQTT 5 test client for this broker."""
        return MqttTestClient(
            host=self.host, port=self.port, username=username, password=password, client_id=client_id
        )

    def controller_client(self, client_id: str | None = None) -> MqttTestClient:
        """A client on a fresh controller account ``controller-test-N``, never ``controller_username``.

        The broker binds client id to username, so a second client on the account a test's ingest
        uses would disconnect that ingest (and a clean start would wipe its durable session).
        """
        username = f"{self.controller_username}-test-{next(self._observers)}"
        return self.client(username, self.add_service_account(username), client_id)

    def stop(self) -> None:
        self.service.stop()

    def start(self) -> None:
        self.service.start()

    def _write(self) -> None:
        accounts = [BrokerAccount(name, digest) for name, digest in sorted(self._hashes.items())]
        self.accounts.write(accounts, service_users=self._service_users)


class VictoriaHandle:
    """The test VictoriaMetrics: write with influxdb-client to ``url``, read with ``query``."""

    def __init__(self, service: VictoriaService) -> None:
        self.service = service

    @property
    def url(self) -> str:
        return self.service.url

    def query(self, promql: str, *, time: float | None = None) -> list[dict[str, Any]]:
        """Instant query through the Prometheus API; returns ``data.result`` (cache bypassed).

        Flushes first: VictoriaMetrics makes new points searchable about once a second and remembers
        "no such series" for a while, so a poll that starts before the write lands would see nothing
        for ~10 s without it.
        """
        httpx.get(f"{self.url}/internal/force_flush", timeout=10.0).raise_for_status()
        params: dict[str, str] = {"query": promql, "nocache": "1"}
        if time is not None:
            params["time"] = f"{time:.3f}"
        response = httpx.get(f"{self.url}/api/v1/query", params=params, timeout=10.0)
        response.raise_for_status()
        body = response.json()
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def stop(self) -> None:
        self.service.stop()

    def start(self) -> None:
        self.service.start()
