"""Alerts services on SQLite and PostgreSQL: upsert by fingerprint, region subtree filter, counts."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from station_controller.alerts import service
from station_controller.alerts.schemas import WebhookBody
from station_controller.registry.service import create_device, create_station
from station_controller.settings import Settings
from tests.support.alerting import webhook_body


def test_record_and_filter_on_every_database(db: sessionmaker[Session], db_settings: Settings) -> None:
    with db() as session:
        create_station(session, code="p-1", name="一村", region_path="山东省/济南市/历城区")
        create_station(session, code="p-2", name="二村", region_path="山东省/济南市历下")
        stb1, _ = create_device(session, settings=db_settings, station_code="p-1", role="stb", serial="P1")
        stb2, _ = create_device(session, settings=db_settings, station_code="p-2", role="stb", serial="P2")
        for device, fp in ((stb1.id, "a1"), (stb2.id, "b2")):
            service.record_webhook(
                session, body=WebhookBody.model_validate(webhook_body(device=device, fingerprint=fp))
            )
        resolved = webhook_body(device=stb1.id, fingerprint="a1", status="resolved")
        service.record_webhook(session, body=WebhookBody.model_validate(resolved))
    with db() as session:
        rows, counts = service.list_alerts(session, region="山东省/济南市")
        assert [(r.device, r.status) for r in rows] == [
            (stb1.id, "resolved")
        ]  # 济南市历下 is not in the subtree
        assert counts == {"firing": 0, "resolved": 1}
        every, total = service.list_alerts(session)
        assert [r.status for r in every] == ["firing", "resolved"]
        assert total == {"firing": 1, "resolved": 1}
        firing, _ = service.list_alerts(session, status="firing", station="p-2")
        assert [r.device for r in firing] == [stb2.id]
