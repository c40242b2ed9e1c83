"""The overview (landing page) and its live JSON: devices by region, firing alerts, running jobs,
portal users online, today's lessons through the lessons feature's ``lessons_today`` service."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from station_controller.kernel.clock import utcnow
from station_controller.provisioning.jobs.models import Job
from station_controller.registry.models import Device
from station_controller.web import LANDING_PATH
from tests.controller.alerts.conftest import auth
from tests.controller.alerts.test_alerts_page import _console
from tests.controller.api.core_fixtures import Api
from tests.support.alerting import webhook_body


def _enroll(api: Api, online: dict[str, bool]) -> None:
    with api.sessions() as session:
        for device, is_online in online.items():
            session.execute(
                update(Device).where(Device.id == device).values(status="enrolled", online=is_online)
            )
        session.add(
            Job(action="ping", params={}, selector={}, dry_run=False, concurrency=1, status="queued",
                created_by="ops", created_at=utcnow())
        )  # fmt: skip
        session.commit()


def test_overview_is_the_landing_page() -> None:
    assert LANDING_PATH == "/console/overview/"


def test_data_counts_devices_by_region_alerts_and_jobs(alerts_api: Api) -> None:
    _enroll(alerts_api, {"stb-a1": True, "stb-a2": False, "stb-b1": True})
    alerts_api.client.post("/api/v1/alerts/webhook", json=webhook_body(device="stb-a2"), headers=auth())
    console = _console(alerts_api, "viewer")
    data = console.get("/console/overview/data.json").json()
    assert data["devices"] == {"online": 2, "offline": 1}
    regions = {r["region"]: (r["online"], r["offline"]) for r in data["regions"]}
    assert regions == {"河南省/南阳市": (1, 1), "河南省/郑州市": (1, 0)}
    assert data["regions"][0]["region"] == "河南省/南阳市"  # most offline first
    (alert,) = data["alerts"]
    assert (alert["alertname"], alert["device"], alert["station"]) == ("DeviceOffline", "stb-a2", "s-001")
    assert data["alerts_by_severity"] == {"warning": 1}
    assert [j["action"] for j in data["jobs"]] == ["ping"]
    assert data["portal_online"] == 0
    offered = getattr(alerts_api.client.app.state, "lessons_today", None)  # type: ignore[attr-defined]
    assert data["lessons"] == ([] if offered else None)  # no lessons scheduled in this database


def test_page_renders_in_both_languages_with_its_charts(alerts_api: Api) -> None:
    _enroll(alerts_api, {"stb-a1": True})
    console = _console(alerts_api, "viewer")
    zh = console.get("/console/overview/", params={"lang": "zh"})
    assert zh.status_code == 200
    assert "在线设备" in zh.text
    assert 'data-testid="ov-online">1<' in zh.text
    assert "/console/charts/echarts.min.js" in zh.text
    en = console.get("/console/overview/", params={"lang": "en"}).text
    assert "Devices online" in en
    assert "Today&#39;s lessons" in en or "Today's lessons" in en
    for asset in ("overview.js", "overview.css"):
        assert console.get(f"/console/overview/{asset}").status_code == 200
    assert console.get("/console/overview/nope.js").status_code == 404
    assert b't.version="5.6.0"' in console.get("/console/charts/echarts.min.js").content


def test_lessons_come_from_the_lessons_service_and_its_failure_is_contained(alerts_api: Api) -> None:
    def lessons_today(session: Session, now: datetime) -> list[dict[str, Any]]:
        assert now.tzinfo is not None
        return [
            {
                "id": 7,
                "title": "党课直播",
                "state": "live",
                "watching": 3,
                "rebuffer_ratio": 0.01,
                "url": "/x",
            }
        ]

    app: Any = alerts_api.client.app
    app.state.lessons_today = lessons_today
    console = _console(alerts_api, "viewer")
    assert console.get("/console/overview/data.json").json()["lessons"][0]["title"] == "党课直播"
    assert 'data-testid="ov-lesson-7"' in console.get("/console/overview/").text

    def broken(session: Session, now: datetime) -> list[dict[str, Any]]:
        raise RuntimeError("lessons table missing")

    app.state.lessons_today = broken
    data = console.get("/console/overview/data.json").json()
    assert (data["lessons"], data["lessons_error"]) == ([], "RuntimeError: lessons table missing")
    assert data["devices"] == {"online": 0, "offline": 0}


def test_data_needs_a_login(alerts_api: Api) -> None:
    alerts_api.client.cookies.clear()
    reply = alerts_api.client.get("/console/overview/data.json", follow_redirects=False)
    assert reply.status_code == 401
