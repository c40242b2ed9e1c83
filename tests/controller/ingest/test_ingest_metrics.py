"""IngestStats at GET /metrics: counters by reason, gauges, summed over runtimes, gone after detach."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from station_controller.observability import metrics
from station_controller.observability.metrics import IngestStats
from station_controller.observability.routes import router


def _scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    app = FastAPI()
    app.include_router(router)

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://c.test"
        ) as client:
            return await client.get("/metrics")

    response = asyncio.run(call())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_expose_ingest_counters() -> None:
    first, second = IngestStats(), IngestStats()
    first.inc("messages_received", 3)
    second.inc("messages_received", 4)
    first.inc_labeled("messages_rejected", "spoofed")
    first.inc("write_errors", 2)
    first.gauge("tsdb_buffer_points", lambda: 17)
    metrics.attach(first)
    metrics.attach(second)
    try:
        scraped = _scrape()
    finally:
        metrics.detach(first)
        metrics.detach(second)
    assert scraped[("messages_received_total", ())] == 7
    assert scraped[("messages_rejected_total", (("reason", "spoofed"),))] == 1
    assert scraped[("messages_rejected_total", (("reason", "malformed"),))] == 0
    assert scraped[("tsdb_write_errors_total", ())] == 2
    assert scraped[("tsdb_buffer_points", ())] == 17
    assert scraped[("devices_online", ())] == 0
    assert ("process_cpu_seconds_total", ()) in scraped
    assert _scrape()[("messages_received_total", ())] == 0
