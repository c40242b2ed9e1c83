"""Enroll simulated stations through the controller's REST API: staff login, CSV import, per-device enroll."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import httpx

from station_protocol import ProtocolError
from station_protocol.enrollment import ENROLL_PATH, EnrollRequest, EnrollResponse

from .credentials import StationRow, rows_to_csv
from .errors import EnrollmentError

log = logging.getLogger(__name__)

LOGIN_PATH = "/api/v1/auth/login"
IMPORT_PATH = "/api/v1/stations/import"
IMPORT_CHUNK = 2000  # rows per import request, so one request stays well under proxy body limits


class HttpClient(Protocol):
    """What enrollment needs of an HTTP client: httpx.Client, or the app's TestClient in tests."""

    def request(
        self, method: str, url: str, *, headers: Any = ..., json: Any = ..., files: Any = ...
    ) -> Any: ...

    def close(self) -> None: ...


class ControllerClient:
    """The few REST calls enrollment needs; every failure becomes an EnrollmentError saying why."""

    def __init__(self, base_url: str, *, timeout_s: float = 30.0, http: HttpClient | None = None) -> None:
        # ``http`` lets tests pass the app's TestClient (an httpx.Client) instead of a socket client.
        self._owned = http is None
        self._http: HttpClient = http or httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)
        self._auth: dict[str, str] = {}

    def close(self) -> None:
        if self._owned:
            self._http.close()

    def login(self, username: str, password: str) -> None:
        data = self._call("POST", LOGIN_PATH, "log in", json={"username": username, "password": password})
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str):
            raise EnrollmentError(f"login answered without a token: {data!r}")
        self._auth = {"Authorization": f"Bearer {token}"}

    def import_stations(self, rows: Sequence[StationRow]) -> dict[str, str]:
        """Import rows as CSV; returns one-time enrollment token per serial."""
        tokens: dict[str, str] = {}
        for start in range(0, len(rows), IMPORT_CHUNK):
            chunk = rows[start : start + IMPORT_CHUNK]
            files = {"file": ("stations.csv", rows_to_csv(chunk).encode(), "text/csv")}
            data = self._call("POST", IMPORT_PATH, "import stations", files=files)
            tokens.update(_tokens_of(data))
        return tokens

    def enroll(self, serial: str, token: str, agent_version: str) -> EnrollResponse:
        body = EnrollRequest(serial=serial, token=token, agent_version=agent_version).to_dict()
        data = self._call("POST", ENROLL_PATH, f"enroll {serial}", json=body)
        try:
            return EnrollResponse.from_dict(data)
        except ProtocolError as exc:
            raise EnrollmentError(f"enroll {serial}: answer is not an EnrollResponse: {exc}") from exc

    def _call(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, headers=self._auth, **kwargs)
        except httpx.HTTPError as exc:
            raise EnrollmentError(
                f"cannot {what}: {exc}; is the controller running and reachable at this URL?"
            ) from exc
        if response.status_code >= 400:
            raise EnrollmentError(f"cannot {what}: HTTP {response.status_code} {response.text[:500]}")
        return response.json()


def _tokens_of(data: Any) -> dict[str, str]:
    devices = data.get("devices") if isinstance(data, dict) else None
    if not isinstance(devices, list):
        raise EnrollmentError(f"import answered without a device list: {str(data)[:300]}")
    return {
        d["serial"]: d["token"] for d in devices if isinstance(d, dict) and "serial" in d and "token" in d
    }


def enroll_fleet(
    *,
    url: str,
    username: str,
    password: str,
    rows: Sequence[StationRow],
    agent_version: str,
    workers: int = 8,
    http: HttpClient | None = None,
) -> list[EnrollResponse]:
    """Log in, import ``rows``, enroll every device; returns credentials in row order."""
    client = ControllerClient(url, http=http)
    try:
        client.login(username, password)
        tokens = client.import_stations(rows)
        missing = [r.serial for r in rows if r.serial not in tokens]
        if missing:
            raise EnrollmentError(
                f"import returned no token for {len(missing)} serials (first: {missing[0]})"
            )
        log.info("imported %d devices; enrolling with %d threads", len(rows), workers)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(lambda r: client.enroll(r.serial, tokens[r.serial], agent_version), rows))
    finally:
        client.close()
