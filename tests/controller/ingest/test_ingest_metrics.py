"""IngestStats at GET /metrics: counters by reason, gauges, summed over runtimes, gone after detach."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI
from prometheus_client import generate_latest
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


def test_alert_rule_inputs_keep_their_names_types_and_help() -> None:
    # monitoring/alerts/ reads these; a rename here must be a deliberate change of both.
    pinned = {
        "thread_restarts_total": "counter",
        "threads_down": "gauge",
        "points_rejected_total": "counter",
        "points_dropped_total": "counter",
        "tsdb_rows_dropped_total": "counter",
        "devices_quarantined_total": "counter",
        "messages_rejected_total": "counter",
        "events_rejected_total": "counter",
        "events_failed_total": "counter",
        "results_rejected_total": "counter",
        "events_unregistered_total": "counter",
        "label_values_capped_total": "counter",
        "ingest_events_pending": "gauge",
        "tsdb_buffer_points": "gauge",
    }
    assert pinned == metrics.ALERT_INPUTS
    stats = IngestStats()
    stats.inc("devices_quarantined")
    stats.inc_labeled("points_rejected", "encoding")
    stats.inc_labeled("events_rejected", "IntegrityError")
    stats.inc_labeled("events_unregistered", "stb-evil0001", 3)
    stats.inc_labeled("label_values_capped", "stb-evil0001", 2)
    stats.gauge("ingest_events_pending", lambda: 5)
    metrics.attach(stats)
    try:
        text = generate_latest(metrics.REGISTRY).decode()
        scraped = _scrape()
    finally:
        metrics.detach(stats)
    families = {family.name: family for family in text_string_to_metric_families(text)}
    for name, kind in pinned.items():
        family = families[name.removesuffix("_total") if kind == "counter" else name]
        assert family.type == kind, name
        assert len(family.documentation) > 20, name  # a real help text, not the name again
        assert f"# HELP {name} " in text, name
    assert scraped[("devices_quarantined_total", ())] == 1
    assert scraped[("points_rejected_total", (("reason", "encoding"),))] == 1
    assert scraped[("events_rejected_total", (("reason", "IntegrityError"),))] == 1
    assert scraped[("events_unregistered_total", (("device", "stb-evil0001"),))] == 3
    assert scraped[("label_values_capped_total", (("device", "stb-evil0001"),))] == 2
    assert scraped[("ingest_events_pending", ())] == 5
