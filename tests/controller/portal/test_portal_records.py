"""Login records: router events folded in batches (also through the ingest pipeline), retention purge,
CSV export for auditors only, per-station daily statistics."""

from __future__ import annotations

import csv
import io
import queue
from datetime import timedelta

from station_controller.ingest.devices import KnownDevices
from station_controller.ingest.events import DeviceEvent
from station_controller.ingest.pipeline import Message, Pipeline
from station_controller.ingest.presence import PresenceStore
from station_controller.kernel.clock import utcnow
from station_controller.observability.metrics import IngestStats
from station_controller.portal.device_events import SqlPortalEvents, apply_router_events
from station_controller.portal.models import LoginRecord, PortalSession
from station_controller.portal.records import purge
from station_protocol import Event, encode, make
from tests.controller.portal.conftest import MAC, Portal
from tests.fakes.ingest import FakeDirectory, FakePoints


def _session_id(portal: Portal) -> str:
    portal.sms_login()
    return str(portal.commands("portal.allow")[0][1]["session_id"])


def test_accounting_and_session_ended_events_update_sessions_and_records(portal: Portal) -> None:
    sid = _session_id(portal)
    accounting = {
        "sessions": [
            {
                "session_id": sid,
                "mac": MAC,
                "ip": "x",
                "bytes_up": 10,
                "bytes_down": 50,
                "last_activity_ms": 1_700_000_000_000,
            }
        ]
    }
    ended = {
        "session_id": sid,
        "mac": MAC,
        "ip": "x",
        "reason": "idle",
        "bytes_up": 20,
        "bytes_down": 90,
        "ended_at": 1_700_000_100_000,
    }
    spoofed = {"session_id": sid, "reason": "revoked", "bytes_up": 10**9, "bytes_down": 10**9}
    with portal.api.sessions() as session:
        events = [
            DeviceEvent(portal.router, "portal.accounting", accounting),
            DeviceEvent("router-other", "portal.session_ended", spoofed),
            DeviceEvent(portal.router, "portal.session_ended", ended),
        ]
        assert apply_router_events(session, events) == 1
    with portal.api.sessions() as session:
        record = session.get(PortalSession, sid)
        assert record is not None
        assert (record.status, record.end_reason, record.bytes_up, record.bytes_down) == (
            "ended",
            "idle",
            20,
            90,
        )
        login = session.query(LoginRecord).one()
        assert (login.bytes_up, login.bytes_down) == (20, 90)
        assert login.ended_at is not None


def test_the_ingest_pipeline_hands_portal_events_to_the_portal_in_a_batch(portal: Portal) -> None:
    sid = _session_id(portal)
    known = KnownDevices(FakeDirectory({portal.router: "router"}))
    known.refresh()
    stats = IngestStats()
    pipeline = Pipeline(
        inbox=queue.Queue[Message](),
        known=known,
        presence=PresenceStore(stats=stats, offline_after_s=60),
        points=FakePoints(),
        results=None,
        stats=stats,
        dedup_window=100,
        event_handlers=[SqlPortalEvents(portal.api.sessions)],
    )
    for n in (100, 200):
        detail = {"sessions": [{"session_id": sid, "bytes_up": n, "bytes_down": n * 2}]}
        body = encode(make(portal.router, Event(name="portal.accounting", detail=detail)))
        pipeline.handle(f"st/v1/{portal.router}/event", body, 1.0)
    with portal.api.sessions() as session:
        record = session.get(PortalSession, sid)
        assert record is not None
        assert record.bytes_up == 0
    pipeline.flush_results()
    with portal.api.sessions() as session:
        record = session.get(PortalSession, sid)
        assert record is not None
        assert (record.bytes_up, record.bytes_down) == (200, 400)


def test_purge_deletes_records_past_the_retention_period_only(portal: Portal) -> None:
    _session_id(portal)
    with portal.api.sessions() as session:
        assert purge(session, settings=portal.api.settings)["login_records"] == 0
        later = utcnow() + timedelta(days=portal.api.settings.portal_retention_days + 1)
        counts = purge(session, settings=portal.api.settings, now=later)
        assert counts["login_records"] == 1
        assert counts["terms_acceptances"] == 1
        assert session.query(LoginRecord).count() == 0
    assert (
        portal.client.post("/api/v1/portal/records/purge", headers=portal.api.user("operator")).status_code
        == 403
    )
    assert portal.client.post("/api/v1/portal/records/purge", headers=portal.admin).status_code == 200


def test_csv_export_is_for_auditors_and_admins(portal: Portal) -> None:
    portal.sms_login(phone="13800138000")
    portal.sms_login(phone="13900139000", mac="aa:bb:cc:00:00:02")
    auditor = portal.api.user("auditor")
    reply = portal.client.get("/api/v1/portal/login-records.csv", headers=auditor)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    assert {r["phone"] for r in rows} == {"13800138000", "13900139000"}
    assert rows[0]["station_code"] == "st-r1"
    assert rows[0]["mac"] == MAC
    for role in ("viewer", "operator"):
        assert (
            portal.client.get("/api/v1/portal/login-records.csv", headers=portal.api.user(role)).status_code
            == 403
        )
    assert portal.client.get("/api/v1/portal/login-records.csv", headers=portal.admin).status_code == 200
    # An auditor sees nothing else.
    assert portal.client.get("/api/v1/portal/sessions", headers=auditor).status_code == 403
    assert portal.client.get("/api/v1/stations", headers=auditor).status_code == 403


def test_csv_cells_cannot_become_spreadsheet_formulas() -> None:
    from station_controller.csv_export import neutralise as _cell

    assert _cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert _cell("13800138000") == "13800138000"


def test_login_records_csv_neutralises_a_hostile_cell(portal: Portal) -> None:
    """The client IP comes from the router (and from the phone's query on WiFiDog): never a formula."""
    hostile = '=HYPERLINK("http://evil.example/","x")'
    assert portal.sms_login(ip=hostile).status_code == 200
    reply = portal.client.get("/api/v1/portal/login-records.csv", headers=portal.admin)
    [row] = list(csv.DictReader(io.StringIO(reply.text)))
    assert row["ip"] == "'" + hostile
    assert row["started_at"].endswith("+00:00")


def test_login_statistics_per_station_and_day(portal: Portal) -> None:
    portal.sms_login(phone="13800138000")
    portal.sms_login(phone="13900139000", mac="aa:bb:cc:00:00:02")
    rows = portal.client.get("/api/v1/portal/stats/logins", headers=portal.api.user("viewer")).json()
    assert len(rows) == 1
    assert (rows[0]["station_code"], rows[0]["logins"], rows[0]["users"], rows[0]["devices"]) == (
        "st-r1",
        2,
        2,
        2,
    )
