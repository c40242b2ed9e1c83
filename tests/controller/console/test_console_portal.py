"""Console free-WiFi page: live sessions with kick and extend, voucher batches, stats; viewers only read."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from station_controller.kernel.clock import as_utc, utcnow
from station_controller.portal.models import PortalSession, VoucherBatch

Csrf = Callable[[str], str]
SESSION_ID = "a" * 32


def _live_session(factory: sessionmaker[Session]) -> None:
    now = utcnow()
    with factory() as s:
        s.add(
            PortalSession(
                id=SESSION_ID,
                kind="native",
                gateway="router-sn-b1",
                phone="13800138000",
                mac="02:00:00:00:00:01",
                ip="10.77.1.10",
                started_at=now,
                expires_at=now + timedelta(hours=1),
                idle_timeout_s=900,
                up_kbps=2000,
                down_kbps=2000,
                status="active",
            )
        )
        s.commit()


def test_page_shows_live_sessions_with_masked_phones(
    operator: TestClient, factory: sessionmaker[Session]
) -> None:
    _live_session(factory)
    page = operator.get("/console/portal/")
    assert page.status_code == 200
    assert f'data-testid="session-{SESSION_ID}"' in page.text
    assert "138****8000" in page.text
    assert "13800138000" not in page.text, "full phone numbers never reach the console"
    assert "在线用户" in page.text
    assert "上网券" in page.text


def test_operator_kicks_and_extends(
    operator: TestClient, app: FastAPI, csrf_from: Csrf, factory: sessionmaker[Session]
) -> None:
    _live_session(factory)
    token = csrf_from(operator.get("/console/portal/").text)
    extended = operator.post(
        f"/console/portal/sessions/{SESSION_ID}/extend", data={"csrf": token, "hours": 4}
    )
    assert extended.status_code == 303
    kicked = operator.post(f"/console/portal/sessions/{SESSION_ID}/kick", data={"csrf": token})
    assert kicked.status_code == 303
    sent = [(m["topic"], json.loads(m["payload"])["body"]) for m in app.state.publisher.sent]
    names = [body["name"] for _, body in sent]
    assert names == ["portal.extend", "portal.revoke"]
    assert all(topic == "st/v1/router-sn-b1/cmd" for topic, _ in sent)
    with factory() as s:
        record = s.get(PortalSession, SESSION_ID)
        assert record is not None
        assert record.status != "active"
        assert as_utc(record.expires_at) > utcnow() + timedelta(hours=4)


def test_operator_creates_a_voucher_batch_and_lands_on_its_print_view(
    operator: TestClient, csrf_from: Csrf, factory: sessionmaker[Session]
) -> None:
    token = csrf_from(operator.get("/console/portal/").text)
    reply = operator.post(
        "/console/portal/vouchers", data={"csrf": token, "count": 3, "duration_h": 2, "note": "集市日"}
    )
    assert reply.status_code == 303
    assert reply.headers["location"].endswith("/print")
    with factory() as s:
        [batch] = s.query(VoucherBatch).all()
        assert (batch.count, batch.duration_s, batch.note) == (3, 7200, "集市日")


def test_viewer_sees_no_forms_and_cannot_kick(
    viewer: TestClient, csrf_from: Csrf, factory: sessionmaker[Session]
) -> None:
    _live_session(factory)
    page = viewer.get("/console/portal/")
    assert f'data-testid="kick-{SESSION_ID}"' not in page.text
    assert 'data-testid="create-vouchers"' not in page.text
    refused = viewer.post(f"/console/portal/sessions/{SESSION_ID}/kick", data={"csrf": csrf_from(page.text)})
    assert refused.status_code == 403
    with factory() as s:
        record = s.get(PortalSession, SESSION_ID)
        assert record is not None
        assert record.status == "active"
