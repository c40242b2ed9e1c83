"""What the suite reads from the outside: /readyz polled throughout, /metrics counters, stored samples."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

REJECTED = "messages_rejected"


@dataclass(frozen=True)
class Reading:
    at: float
    status: int | None  # None: no answer within the poll timeout (recorded, not a 503)
    body: str


@dataclass
class ReadyzPoller:
    """GET /readyz every ``interval_s`` on its own thread; ``readings`` keeps every answer."""

    url: str
    interval_s: float = 0.1
    readings: list[Reading] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="readyz-poller", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def since(self, start: float) -> list[Reading]:
        with self._lock:
            return [r for r in self.readings if r.at >= start]

    def summary(self, start: float = 0.0) -> dict[str, int]:
        return dict(Counter(str(r.status) for r in self.since(start)))

    def _run(self) -> None:
        with httpx.Client(timeout=5.0) as client:
            while not self._stop.is_set():
                at = time.time()
                try:
                    reply = client.get(f"{self.url}/readyz")
                    reading = Reading(at, reply.status_code, reply.text[:300])
                except httpx.HTTPError as exc:
                    reading = Reading(at, None, repr(exc))
                with self._lock:
                    self.readings.append(reading)
                self._stop.wait(self.interval_s)


def scrape(url: str) -> dict[str, float]:
    """Every sample of the controller's /metrics as ``name{label="v",...}`` → value."""
    reply = httpx.get(f"{url}/metrics", timeout=10.0)
    reply.raise_for_status()
    flat: dict[str, float] = {}
    for family in text_string_to_metric_families(reply.text):
        for s in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            flat[f"{s.name}{{{labels}}}" if labels else s.name] = float(s.value)
    return flat


def rejects(snapshot: dict[str, float]) -> dict[str, float]:
    """``messages_rejected_total`` by reason."""
    out = {}
    for key, value in snapshot.items():
        m = re.fullmatch(rf'{REJECTED}_total\{{reason="([^"]*)"\}}', key)
        if m:
            out[m.group(1)] = value
    return out


def counted(before: dict[str, float], after: dict[str, float], name: str) -> float:
    """How much ``messages_rejected{reason=name}`` grew, or the counter ``{name}_total`` if no such reason."""
    rb, ra = rejects(before), rejects(after)
    if name in ra:
        return ra[name] - rb.get(name, 0.0)
    return after.get(f"{name}_total", 0.0) - before.get(f"{name}_total", 0.0)


def grown(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Every counter that grew (for assertion messages)."""
    return {
        k: after[k] - before.get(k, 0.0)
        for k in sorted(after)
        if k.endswith("_total") or "_total{" in k
        if after[k] != before.get(k, 0.0)
    }


class Tsdb:
    """Reads stored samples back from VictoriaMetrics (Prometheus API, dedup applied by the TSDB)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, promql: str) -> list[dict[str, Any]]:
        httpx.get(f"{self.url}/internal/force_flush", timeout=10.0).raise_for_status()
        reply = httpx.get(f"{self.url}/api/v1/query", params={"query": promql, "nocache": "1"}, timeout=30.0)
        reply.raise_for_status()
        body = reply.json()
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def seq_samples(self, device_id: str, window: str = "2h") -> list[tuple[int, int]]:
        """Stored (ts ms, seq) of one device, by time."""
        rows = self.query(f'telemetry_seq{{device="{device_id}"}}[{window}]')
        samples = [(round(float(ts) * 1000), int(float(v))) for row in rows for ts, v in row["values"]]
        return sorted(samples)

    def max_seq(self, device_id: str) -> int:
        rows = self.query(f'max_over_time(telemetry_seq{{device="{device_id}"}}[2h])')
        return int(float(rows[0]["value"][1])) if rows else -1

    def series(self, match: str) -> list[dict[str, str]]:
        reply = httpx.get(f"{self.url}/api/v1/series", params={"match[]": match, "start": "0"}, timeout=30.0)
        reply.raise_for_status()
        data: list[dict[str, str]] = reply.json()["data"]
        return data
