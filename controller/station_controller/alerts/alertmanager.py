"""The one adapter for Alertmanager's HTTP API v2 (httpx): silences and the alerts it holds.

Maintenance windows are Alertmanager silences, nothing else: the console creates, lists and expires
them here, so amtool, Alertmanager's own UI and the console see the same windows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx

from .errors import AlertmanagerRejected, AlertmanagerUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Matcher:
    name: str
    value: str
    is_regex: bool = False


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    state: str  # active | pending | expired


@dataclass(frozen=True)
class HeldAlert:
    """An alert as Alertmanager holds it now; ``silenced_by`` lists the silences muting it."""

    fingerprint: str
    labels: dict[str, str]
    state: str  # active | suppressed | unprocessed
    silenced_by: tuple[str, ...]


class AlertmanagerApi(Protocol):
    def create_silence(
        self,
        *,
        matchers: list[Matcher],
        starts_at: datetime,
        ends_at: datetime,
        created_by: str,
        comment: str,
    ) -> str: ...

    def silences(self) -> list[Silence]: ...

    def expire_silence(self, silence_id: str) -> None: ...

    def alerts(self) -> list[HeldAlert]: ...


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _silence(raw: dict[str, Any]) -> Silence:
    return Silence(
        id=str(raw["id"]),
        matchers=tuple(Matcher(m["name"], m["value"], bool(m.get("isRegex"))) for m in raw["matchers"]),
        starts_at=_parse_time(raw["startsAt"]),
        ends_at=_parse_time(raw["endsAt"]),
        created_by=str(raw.get("createdBy", "")),
        comment=str(raw.get("comment", "")),
        state=str(raw.get("status", {}).get("state", "")),
    )


class AlertmanagerClient:
    """Alertmanager at ``base_url`` (e.g. http://127.0.0.1:9093)."""

    def __init__(self, base_url: str, *, timeout_s: float = 5.0) -> None:
        self._base = base_url.rstrip("/") + "/api/v2"
        self._timeout = timeout_s

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            reply = httpx.request(method, self._base + path, timeout=self._timeout, **kwargs)
        except httpx.HTTPError as exc:
            raise AlertmanagerUnavailable(f"Alertmanager at {self._base} did not answer: {exc}") from exc
        if reply.status_code == 400:
            raise AlertmanagerRejected(f"Alertmanager refused the request: {reply.text[:300]}")
        if reply.status_code >= 400:
            raise AlertmanagerUnavailable(f"Alertmanager answered {reply.status_code}: {reply.text[:300]}")
        return reply

    def create_silence(
        self,
        *,
        matchers: list[Matcher],
        starts_at: datetime,
        ends_at: datetime,
        created_by: str,
        comment: str,
    ) -> str:
        body = {
            "matchers": [
                {"name": m.name, "value": m.value, "isRegex": m.is_regex, "isEqual": True} for m in matchers
            ],
            "startsAt": starts_at.isoformat(),
            "endsAt": ends_at.isoformat(),
            "createdBy": created_by,
            "comment": comment or "maintenance window",
        }
        silence_id = str(self._call("POST", "/silences", json=body).json()["silenceID"])
        log.info("silence %s created by %s until %s", silence_id, created_by, ends_at.isoformat())
        return silence_id

    def silences(self) -> list[Silence]:
        return [_silence(raw) for raw in self._call("GET", "/silences").json()]

    def expire_silence(self, silence_id: str) -> None:
        self._call("DELETE", f"/silence/{silence_id}")

    def alerts(self) -> list[HeldAlert]:
        rows = self._call("GET", "/alerts", params={"silenced": "true", "inhibited": "true"}).json()
        return [
            HeldAlert(
                fingerprint=str(row["fingerprint"]),
                labels={str(k): str(v) for k, v in row.get("labels", {}).items()},
                state=str(row.get("status", {}).get("state", "")),
                silenced_by=tuple(row.get("status", {}).get("silencedBy") or ()),
            )
            for row in rows
        ]
