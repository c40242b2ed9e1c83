"""``station-controller``: serve, migrate, create-admin, demo-station, broker-sync, portal-purge."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from .auth.passwords import generate_password
from .auth.service import create_user
from .db import make_engine, make_session_factory
from .errors import ControllerError
from .registry.models import Device, Station
from .registry.service import add_device, create_station, device_id_for, get_device, issue_token
from .settings import Settings, get_settings

log = logging.getLogger(__name__)

DEMO_CODE = "demo-0001"
DEMO_NAME = "演示站 Demo station"
DEMO_REGION = "河南省/南阳市/唐河县/城郊乡/王庄村"
MACHINE_ID = Path("/etc/machine-id")


def _say(message: str, *, error: bool = False) -> None:
    """CLI output (the only place this package writes to the terminal directly)."""
    (sys.stderr if error else sys.stdout).write(message + "\n")


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    if args.only == "ingest":
        return _serve_ingest(worker_settings(settings, args.worker))
    if args.worker:
        raise ControllerError("--worker names an extra ingest worker: use it with --only ingest")
    import uvicorn  # only this command needs the server

    uvicorn.run("station_controller.main:build_app", factory=True, **uvicorn_options(settings))
    return 0


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How ``serve`` runs uvicorn.

    uvicorn's own proxy-header handling is off: it would believe X-Forwarded-For from any loopback
    peer (its default FORWARDED_ALLOW_IPS). The app applies STATION_FORWARDED_ALLOW_IPS itself
    (main.py), so the rule is the same however the app is served.
    """
    return {"host": settings.http_host, "port": settings.http_port, "proxy_headers": False}


def worker_settings(settings: Settings, worker: str | None) -> Settings:
    """``settings`` with the broker account of ingest worker ``worker`` (its own client id and session).

    Raises:
        ControllerError: no worker name, or one not listed in STATION_MQTT_INGEST_WORKERS.
    """
    if not worker:
        raise ControllerError(
            "serve --only ingest needs --worker NAME: the main process already uses the "
            f"{settings.mqtt_username!r} broker account, and a second client on it would disconnect it"
        )
    if worker not in settings.mqtt_ingest_workers:
        raise ControllerError(
            f"ingest worker {worker!r} is not in STATION_MQTT_INGEST_WORKERS {settings.mqtt_ingest_workers}; "
            "add it there (for every controller process), then run `station-controller broker-sync`"
        )
    from .broker.service_accounts import worker_username
    from .enrollment.broker_sync import controller_accounts

    username = worker_username(settings.mqtt_username, worker)
    account = next(a for a in controller_accounts(settings) if a.username == username)
    return settings.model_copy(
        update={"mqtt_username": account.username, "mqtt_password": SecretStr(account.password)}
    )


def _serve_ingest(settings: Settings) -> int:
    """An extra ingest worker (no HTTP): for scale-out behind shared subscriptions (docs/scale-out.md)."""
    import signal
    import threading

    from .composition import build_event_handlers, build_payloads
    from .ingest.runtime import build_ingest

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    handlers = build_event_handlers(factory, build_payloads(settings))
    ingest = build_ingest(settings, factory, client_id=settings.mqtt_username, handlers=handlers)
    ingest.start()
    _say(
        f"ingest worker {settings.mqtt_username} running against {settings.mqtt_host}:{settings.mqtt_port}; "
        "Ctrl-C stops it"
    )
    stop.wait()
    ingest.stop()
    engine.dispose()
    return 0


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from .migrations import upgrade_head

    upgrade_head(settings.database_url)
    _say(f"registry schema is current ({settings.database_url.split('@')[-1]})")
    return 0


def _session(settings: Settings) -> Session:
    return make_session_factory(make_engine(settings.database_url))()


def _create_admin(settings: Settings, args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else generate_password()
    with _session(settings) as session:
        create_user(session, username=args.username, password=password, role="admin")
    if args.password_stdin:
        _say(f"admin {args.username} created")
    else:
        _say(f"admin {args.username} created; password (shown once, store it now):\n{password}")
    return 0


def demo_serial() -> str:
    """This machine's /etc/machine-id, the demo STB's serial."""
    try:
        return MACHINE_ID.read_text(encoding="ascii").strip()
    except OSError as exc:
        raise ControllerError(
            f"cannot read {MACHINE_ID}: {exc.strerror}; run systemd-machine-id-setup"
        ) from None


def _demo_token(session: Session, settings: Settings, serial: str) -> tuple[str, str]:
    """Register (or re-issue) the demo STB; returns its device id and a fresh token (commits)."""
    station = session.scalar(select(Station).where(Station.code == DEMO_CODE))
    if station is None:
        station = create_station(
            session, code=DEMO_CODE, name=DEMO_NAME, region_path=DEMO_REGION, tags=["demo"]
        )
    existing = session.scalar(select(Device).where(Device.serial == serial))
    if existing is None:
        device, token = add_device(
            session, settings=settings, station=station, role="stb", serial=serial, mac=None
        )
    else:
        device = get_device(session, device_id=existing.id)
        token = issue_token(device, settings=settings)
    session.commit()
    if device.mqtt_password_hash is None:
        from .enrollment.broker_sync import SYNC_LOCK, sync_broker

        with SYNC_LOCK:  # a re-issued device's old credential must leave the broker
            sync_broker(session, settings=settings)
    return device.id, token


def agent_toml(settings: Settings, *, serial: str, token: str, state_dir: Path) -> str:
    """The agent config (format of station_agent.config) for the demo STB."""

    def q(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    return "\n".join(
        [
            "# Written by `station-controller demo-station`; the token is single-use.",
            f"state_dir = {q(str(state_dir))}",
            "",
            "[device]",
            'role = "stb"',
            f"serial = {q(serial)}",
            "",
            "[enrollment]",
            f"controller_url = {q(settings.public_url)}",
            f"token = {q(token)}",
            "",
            "[mqtt]",
            f"host = {q(settings.device_mqtt_host)}",
            f"port = {settings.device_mqtt_port}",
            f"tls = {'true' if settings.device_mqtt_tls else 'false'}",
            "",
            "[telemetry]",
            "interval_s = 5.0",
            "",
        ]
    )


def _demo_station(settings: Settings, args: argparse.Namespace) -> int:
    out: Path = args.out.resolve()
    serial = demo_serial()
    device_id_for("stb", serial)  # fail before touching the DB if the serial is unusable
    with _session(settings) as session:
        device_id, token = _demo_token(session, settings, serial)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        agent_toml(settings, serial=serial, token=token, state_dir=out.parent / "state"), encoding="utf-8"
    )
    out.chmod(0o600)
    _say(f"{device_id} on station {DEMO_CODE}: agent config written to {out}")
    return 0


def _broker_sync(settings: Settings, _args: argparse.Namespace) -> int:
    from .enrollment.broker_sync import SYNC_LOCK, sync_broker

    with _session(settings) as session, SYNC_LOCK:
        devices = sync_broker(session, settings=settings)
    _say(
        f"broker files {settings.broker_password_file} and {settings.broker_acl_file} rewritten: "
        f"{1 + len(settings.mqtt_ingest_workers)} controller accounts, {devices} devices"
    )
    return 0


def _portal_purge(settings: Settings, _args: argparse.Namespace) -> int:
    from .portal.records import purge

    with _session(settings) as session:
        counts = purge(session, settings=settings)
    _say(f"portal records older than {settings.portal_retention_days} days purged: {counts}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="station-controller", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run API, console and ingest (uvicorn)")
    serve.add_argument(
        "--only", choices=("all", "ingest"), default="all", help="ingest: an extra ingest worker, no HTTP"
    )
    serve.add_argument(
        "--worker",
        help="with --only ingest: this worker's name from STATION_MQTT_INGEST_WORKERS "
        "(its broker account, client id and durable session are <mqtt username>-<name>)",
    )
    serve.set_defaults(run=_serve)
    sub.add_parser(
        "broker-sync",
        help="rewrite the broker's password and ACL files from the registry and settings, then reload it",
    ).set_defaults(run=_broker_sync)
    sub.add_parser("migrate", help="create or upgrade the registry schema").set_defaults(run=_migrate)
    admin = sub.add_parser("create-admin", help="create an admin user and print a generated password once")
    admin.add_argument("--username", required=True)
    admin.add_argument("--password-stdin", action="store_true", help="read the password from stdin instead")
    admin.set_defaults(run=_create_admin)
    demo = sub.add_parser(
        "demo-station", help="pre-register this machine as a demo STB; write its agent TOML"
    )
    demo.add_argument("--out", type=Path, required=True, help="agent config file to write")
    demo.set_defaults(run=_demo_station)
    sub.add_parser(
        "portal-purge", help="delete portal login records past STATION_PORTAL_RETENTION_DAYS (run daily)"
    ).set_defaults(run=_portal_purge)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = get_settings()
    except ValidationError as exc:
        _say(f"station-controller: bad settings (STATION_* environment):\n{exc}", error=True)
        return 2
    try:
        code: int = args.run(settings, args)
    except ControllerError as exc:
        _say(f"station-controller {args.command}: {exc.detail}", error=True)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
