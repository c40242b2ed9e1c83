"""The inside of bench/rollout_live.py: runs in the centre namespace (controller, broker, 20 agents)."""

from __future__ import annotations

import json
import random
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from station_controller.broker import BrokerAccount, hash_password
from station_controller.campaigns import service as campaigns
from station_controller.campaigns.models import CampaignDevice
from station_controller.campaigns.schemas import CampaignCreate
from station_controller.composition import build_event_handlers, build_payloads
from station_controller.content import keys
from station_controller.content import service as content
from station_controller.content.store import origin_limiter
from station_controller.db import make_engine, make_session_factory
from station_controller.devstack import MosquittoService, free_port
from station_controller.ingest.runtime import build_ingest
from station_controller.main import create_app
from station_controller.migrations import upgrade_head
from station_controller.registry.models import Device
from station_controller.registry.service import add_device, create_station
from station_controller.settings import Settings
from stationctl.chunker import DEFAULT_CHUNKING, Chunk, chunk_tree
from tests.support.netns import popen_in

REGION = "河南省/南阳市/唐河县"


def wait_for(what: str, predicate: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except httpx.HTTPError:  # not listening yet
            value = None
        if value:
            return value
        time.sleep(0.5)
    raise SystemExit(f"timed out waiting for {what}")


def make_settings(tmp: Path, host: str) -> Settings:
    return Settings(
        data_dir=tmp / "controller",
        secret_key=SecretStr(secrets.token_urlsafe(24)),
        mqtt_password=SecretStr(secrets.token_urlsafe(24)),
        http_host=host,
        http_port=free_port(host),
        mqtt_host=host,
        mqtt_port=free_port(host),
        tsdb_url=f"http://{host}:{free_port(host)}",  # nothing listens: points wait in the retry buffer
        campaign_step_s=1.0,
        campaign_membership_interval_s=5.0,
        ingest_flush_interval_s=0.5,
    )


def start_broker(settings: Settings) -> MosquittoService:
    assert settings.broker_password_file
    assert settings.broker_acl_file
    assert settings.broker_pid_file
    broker = MosquittoService(
        data_dir=settings.broker_password_file.parent,
        port=settings.mqtt_port,
        host=settings.mqtt_host,
        service_users=[settings.mqtt_username],
        password_file=settings.broker_password_file,
        acl_file=settings.broker_acl_file,
        pid_file=settings.broker_pid_file,
    )
    broker.accounts.ensure_exist()
    broker.accounts.upsert(
        BrokerAccount(settings.mqtt_username, hash_password(settings.mqtt_password.get_secret_value()))
    )
    broker.start()
    return broker


def publish(sessions: sessionmaker[Session], settings: Settings, src: Path, mb: int) -> tuple[str, str]:
    """A bundle of ``mb`` MB of incompressible files; returns (key id, base64 public key)."""
    rng = random.Random(3)
    src.mkdir(parents=True)
    for i in range(8):
        (src / f"video{i}.mp4").write_bytes(rng.randbytes(mb * 1_000_000 // 8))
    with sessions() as session:

        def sink(chunk: Chunk) -> None:
            content.store_chunk(session, settings=settings, digest=chunk.ref.sha256, size=chunk.ref.size,
                                stored=chunk.stored)  # fmt: skip

        files = chunk_tree(src, sink=sink)
        content.publish_version(session, settings=settings, bundle="lessons", version="v1", files=files,
                                chunking=DEFAULT_CHUNKING)  # fmt: skip
        key = keys.list_keys(session)[0]
        return key.key_id, key.public_key


def agent_config(settings: Settings, *, state_dir: Path, serial: str, token: str) -> str:
    return "\n".join([
        f'state_dir = "{state_dir}"', "", "[device]", 'role = "stb"', f'serial = "{serial}"', "",
        "[enrollment]", f'controller_url = "{settings.public_url}"', f'token = "{token}"', "",
        "[mqtt]", f'host = "{settings.mqtt_host}"', f"port = {settings.mqtt_port}", "tls = false", "",
        "[telemetry]", "interval_s = 10.0", "",
    ])  # fmt: skip


def start_agents(
    sessions: sessionmaker[Session], settings: Settings, plan: dict[str, Any], key: tuple[str, str]
) -> list[subprocess.Popen[bytes]]:
    tmp = Path(plan["tmp"])
    procs = []
    for i, station in enumerate(plan["stations"]):
        with sessions() as session:
            st = create_station(session, code=f"L{i:02d}", name=f"live {i}", region_path=REGION)
            _device, token = add_device(
                session, settings=settings, station=st, role="stb", serial=f"LIVE{i:02d}", mac=None
            )
            session.commit()
        home = tmp / "agents" / str(i)
        trusted = home / "state" / "content" / "trusted-keys"
        trusted.mkdir(parents=True)
        (trusted / f"{key[0]}.pub").write_text(key[1] + "\n", encoding="utf-8")
        config = home / "agent.toml"
        config.write_text(
            agent_config(settings, state_dir=home / "state", serial=f"LIVE{i:02d}", token=token)
        )
        argv = [sys.executable, "-m", "station_agent", "--config", str(config)]
        procs.append(popen_in(station["ns"], argv, log_file=home / "agent.log"))
    return procs


def online(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        stmt = (
            select(func.count())
            .select_from(Device)
            .where(Device.status == "enrolled", Device.online.is_(True))
        )
        return int(session.scalar(stmt) or 0)


def device_bytes(sessions: sessionmaker[Session], cid: int) -> dict[str, tuple[int, int | None, str]]:
    with sessions() as session:
        stmt = (
            select(CampaignDevice)
            .where(CampaignDevice.campaign_id == cid)
            .order_by(CampaignDevice.station_code)
        )
        rows = session.scalars(stmt)
        return {r.station_code: (r.bytes_done, r.bytes_total, r.state) for r in rows}


def inner(plan: dict[str, Any]) -> None:
    tmp, host = Path(plan["tmp"]), plan["host"]
    settings = make_settings(tmp, host)
    broker = start_broker(settings)
    upgrade_head(settings.database_url)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    payloads = build_payloads(settings)  # one registry for the API and the ingest, as main.build_app
    ingest = build_ingest(settings, sessions, handlers=build_event_handlers(sessions, payloads))
    app = create_app(settings, ingest=ingest, engine=engine, payloads=payloads)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=settings.http_port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        wait_for(
            "the controller",
            lambda: httpx.get(f"{settings.public_url}/readyz", timeout=2).status_code == 200,
            60,
        )
        key = publish(sessions, settings, tmp / "bundle", plan["mb"])
        procs = start_agents(sessions, settings, plan, key)
        n = len(plan["stations"])
        wait_for(f"{n} agents online", lambda: online(sessions) >= n, 180)
        result = rollout(sessions, settings, app, plan)
        print("RESULT " + json.dumps(result), flush=True)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        server.should_exit = True
        thread.join(30)
        broker.stop()


def rollout(
    sessions: sessionmaker[Session], settings: Settings, app: Any, plan: dict[str, Any]
) -> dict[str, Any]:
    origin_bps = int(plan["origin_mbit"] * 1e6)
    spec = CampaignCreate.model_validate({
        "name": "live", "payload": {"bundle": "lessons", "version": "v1"}, "target": {"regions": [REGION]},
        "schedule": {"window_start": None, "window_end": None}, "waves": {"percentages": [100]},
        "rate_cap_bps": origin_bps, "max_active": len(plan["stations"]),
    })  # fmt: skip
    payloads = app.state.campaign_payloads
    with sessions() as session:
        cid = campaigns.create_campaign(session, payloads=payloads, spec=spec, created_by="bench").id
        campaigns.start_campaign(session, payloads=payloads, campaign_id=cid)
    limiter = origin_limiter()
    wait_for("the first chunks", lambda: limiter.stats()["bytes_served"] > 5_000_000, 120)
    time.sleep(5)  # every download has started; TCP windows have opened
    before, t0 = limiter.stats()["bytes_served"], time.monotonic()
    at_start = device_bytes(sessions, cid)
    time.sleep(plan["window"])
    served, seconds = limiter.stats()["bytes_served"] - before, time.monotonic() - t0
    at_end = device_bytes(sessions, cid)
    rates = [s["rate_mbit"] * 1e6 for s in plan["stations"]]
    totals = [v[1] or plan["mb"] * 1_000_000 for v in at_start.values()]
    remaining = [
        max(0, total - done) for total, (done, _t, _s) in zip(totals, at_start.values(), strict=True)
    ]
    link_bound = sum(
        min(d, r / 8 * seconds) for d, r in zip(remaining, rates, strict=True)
    )  # L00.. = stations
    bound = min(origin_bps / 8 * seconds, link_bound)
    with sessions() as session:
        campaigns.cancel_campaign(session, campaign_id=cid, user="bench")
    wait_for(
        "every device cancelled",
        lambda: {v[2] for v in device_bytes(sessions, cid).values()} <= {"cancelled", "succeeded"},
        60,
    )
    time.sleep(5)  # cancels are delivered and each agent stops within one chunk
    quiet_before = limiter.stats()["bytes_served"]
    time.sleep(5)
    after_cancel = limiter.stats()["bytes_served"] - quiet_before
    return {
        "agents": len(plan["stations"]),
        "link_mbit": [s["rate_mbit"] for s in plan["stations"]],
        "sum_links_mbit": round(sum(rates) / 1e6, 1),
        "origin_mbit": plan["origin_mbit"],
        "bundle_mb": plan["mb"],
        "window_s": round(seconds, 1),
        "delivered_mb": round(served / 1e6, 2),
        "physical_bound_mb": round(bound / 1e6, 2),
        "ratio": round(served / bound, 3),
        "target_ratio": 0.85,
        "agent_progress_mb": round(
            sum(v[0] for v in at_end.values()) / 1e6 - sum(v[0] for v in at_start.values()) / 1e6, 2
        ),
        "served_5s_after_cancel_bytes": after_cancel,
        "agents_detail": [
            {"link_mbit": s["rate_mbit"], "got_mbit": round((end[0] - start[0]) * 8 / seconds / 1e6, 2)}
            for s, start, end in zip(plan["stations"], at_start.values(), at_end.values(), strict=True)
        ],
    }
