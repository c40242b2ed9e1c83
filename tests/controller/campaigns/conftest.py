"""Campaign fixtures: a migrated SQLite registry, enrolled STBs in regions, a fake clock, a fake payload
behind the PayloadAction Protocol (it sends real commands through commands.service), a scheduler."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from station_controller.campaigns import service
from station_controller.campaigns.device_events import apply_device_events
from station_controller.campaigns.models import Campaign, CampaignDevice
from station_controller.campaigns.payloads import CommandSender, Outcome, PayloadAction, StartSpec
from station_controller.campaigns.scheduler import CampaignScheduler
from station_controller.campaigns.schemas import CampaignCreate
from station_controller.commands.models import CommandRecord
from station_controller.db import make_engine, make_session_factory
from station_controller.ingest.events import DeviceEvent
from station_controller.migrations import upgrade_head
from station_controller.registry.models import Device, Region
from station_controller.registry.service import create_station
from station_controller.settings import Settings
from tests.controller.api.core_fixtures import make_settings
from tests.fakes.commands import FakePublisher

REGION = "河南省/南阳市/唐河县"
# 2026-06-01 01:00 Beijing time: inside the default 00:30-05:30 window.
NIGHT = datetime(2026, 5, 31, 17, 0, tzinfo=UTC)


@dataclass
class FakeClock:
    now: datetime = NIGHT

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class FakePayload:
    """A payload action that sends ``fake.start`` / ``fake.cancel`` through the real command service."""

    kind = "fake"
    default_role: str | None = "stb"
    event_names = frozenset({"fake.progress", "fake.done", "fake.failed"})

    def __init__(self) -> None:
        self.starts: list[tuple[str, str]] = []
        self.fail_start: set[str] = set()

    def validate(self, session: Session, *, payload: Mapping[str, Any]) -> dict[str, Any]:
        return {"size": int(payload.get("size", 1000))}

    def start(self, session: Session, *, device_id: str, spec: StartSpec, send: CommandSender) -> None:
        self.starts.append((device_id, spec.job_id))
        args = {"job_id": spec.job_id, "window": str(spec.window), "offset": spec.utc_offset_min}
        send(device_id=device_id, name="fake.start", args=args, command_id=spec.job_id)

    def cancel(self, session: Session, *, device_id: str, job_id: str, send: CommandSender) -> None:
        send(device_id=device_id, name="fake.cancel", args={"job_id": job_id}, command_id=f"x{job_id}")

    def interpret(
        self, session: Session, *, device_id: str, name: str, detail: Mapping[str, Any]
    ) -> Outcome | None:
        job = str(detail["job_id"])
        if name == "fake.done":
            return Outcome(job, "succeeded")
        if name == "fake.failed":
            return Outcome(
                job,
                "failed",
                failure_type=str(detail["reason"]),
                retryable=bool(detail.get("retryable", True)),
            )
        return Outcome(job, "progress", bytes_done=int(detail["done"]), bytes_total=1000, rate_bps=8000.0)

    def estimate_bytes(
        self, session: Session, *, payload: Mapping[str, Any], device_ids: list[str]
    ) -> dict[str, int]:
        return {d: int(payload["size"]) for d in device_ids}


@dataclass
class Fleet:
    sessions: sessionmaker[Session]
    settings: Settings
    publisher: FakePublisher
    clock: FakeClock
    payload: FakePayload
    payloads: dict[str, PayloadAction] = field(default_factory=dict)
    serial: int = 0

    def add_stations(
        self, count: int, *, region: str = REGION, prefix: str = "S", online: bool = True
    ) -> list[str]:
        """``count`` stations with one enrolled STB each; returns the device ids."""
        ids = []
        with self.sessions() as session:
            for _ in range(count):
                self.serial += 1
                code = f"{prefix}{self.serial:04d}"
                station = create_station(session, code=code, name=code, region_path=region)
                device_id = f"stb-{code.lower()}"
                session.add(
                    Device(
                        id=device_id,
                        station_id=station.id,
                        role="stb",
                        serial=f"SN{code}",
                        region_path=station.region.path,
                        status="enrolled",
                        online=online,
                    )
                )
                ids.append(device_id)
            session.commit()
        return ids

    def set_timezone(self, region: str, tz: str) -> None:
        with self.sessions() as session:
            row = session.scalar(select(Region).where(Region.path == region))
            assert row is not None
            row.timezone = tz
            session.commit()

    def set_online(self, device_id: str, online: bool) -> None:
        with self.sessions() as session:
            device = session.get(Device, device_id)
            assert device is not None
            device.online = online
            session.commit()

    def scheduler(self) -> CampaignScheduler:
        """A fresh scheduler (as after a controller restart) on the same database."""
        return CampaignScheduler(
            session_factory=self.sessions,
            settings=self.settings,
            payloads=self.payloads,
            publisher=lambda: self.publisher,
            clock=self.clock,
        )

    def create(self, **spec: Any) -> int:
        body: dict[str, Any] = {
            "name": f"c-{secrets.token_hex(3)}",
            "payload_kind": "fake",
            "payload": {"size": 1000},
            "target": {"regions": [REGION]},
            "waves": {"percentages": [100]},
            **spec,
        }
        with self.sessions() as session:
            campaign = service.create_campaign(
                session, payloads=self.payloads, spec=CampaignCreate.model_validate(body), created_by="test"
            )
            return campaign.id

    def start(self, **spec: Any) -> int:
        campaign_id = self.create(**spec)
        with self.sessions() as session:
            service.start_campaign(session, payloads=self.payloads, campaign_id=campaign_id, now=self.clock())
        return campaign_id

    def report(self, device_id: str, name: str, **detail: Any) -> None:
        """The device's current job reports ``fake.done`` / ``fake.failed`` / ``fake.progress``."""
        detail.setdefault("job_id", self.device(detail.pop("campaign"), device_id).job_id)
        with self.sessions() as session:
            apply_device_events(
                session,
                payloads=self.payloads,
                events=[DeviceEvent(device_id, name, detail)],
                now=self.clock(),
            )

    def campaign(self, campaign_id: int) -> Campaign:
        with self.sessions() as session:
            row = session.get(Campaign, campaign_id)
            assert row is not None
            return row

    def device(self, campaign_id: int, device_id: str) -> CampaignDevice:
        with self.sessions() as session:
            row = session.get(CampaignDevice, (campaign_id, device_id))
            assert row is not None
            return row

    def states(self, campaign_id: int) -> dict[str, str]:
        with self.sessions() as session:
            stmt = select(CampaignDevice.device_id, CampaignDevice.state).where(
                CampaignDevice.campaign_id == campaign_id
            )
            return {row[0]: row[1] for row in session.execute(stmt)}

    def commands(self, name: str | None = None) -> list[tuple[str, str]]:
        """(device id, command name) of every command recorded, oldest first."""
        with self.sessions() as session:
            stmt = select(CommandRecord.device_id, CommandRecord.name).order_by(CommandRecord.created_at)
            rows = [(r[0], r[1]) for r in session.execute(stmt)]
        return [r for r in rows if name is None or r[1] == name]

    def command_count(self) -> int:
        with self.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(CommandRecord)) or 0)


@pytest.fixture
def fleet(tmp_path: Path, any_db_url: str) -> Iterator[Fleet]:
    """On SQLite and, marked integration, on PostgreSQL."""
    url = any_db_url
    upgrade_head(url)
    settings = make_settings(
        tmp_path, url, campaign_scheduler_enabled=False, campaign_membership_interval_s=60.0
    )
    engine = make_engine(url)
    payload = FakePayload()
    try:
        yield Fleet(
            sessions=make_session_factory(engine),
            settings=settings,
            publisher=FakePublisher(),
            clock=FakeClock(),
            payload=payload,
            payloads={"fake": payload},
        )
    finally:
        engine.dispose()
