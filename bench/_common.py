"""Shared bench helpers: machine description, result files, a throwaway broker with a device fleet."""

from __future__ import annotations

import json
import os
import platform
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from station_controller.broker import BrokerAccount, generate_password, hash_password
from station_controller.devstack import MosquittoService
from station_protocol.enrollment import EnrollResponse
from station_simulator.local import local_fleet

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    """nproc, memory, CPU model and kernel: every result file says where it was measured."""
    cpu = ""
    try:
        match = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        cpu = match.group(1) if match else ""
    except OSError:
        pass
    mem_kb = 0
    try:
        match = re.search(r"^MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text(), re.M)
        mem_kb = int(match.group(1)) if match else 0
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "mem_gib": round(mem_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def write_result(name: str, data: dict[str, Any]) -> Path:
    """Write ``bench/results/{name}.json`` with the machine and a timestamp; return the path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"bench": name, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine()}
    payload.update(data)
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path}")
    return path


@dataclass
class Fleet:
    broker: MosquittoService
    creds: list[EnrollResponse]
    controller_username: str
    controller_password: str
    # A second controller account for a reference subscriber (mosquitto_sub) beside the ingest: the
    # broker binds client id to username, so two clients on one account would disconnect each other.
    drain_username: str = ""
    drain_password: str = ""


@contextmanager
def broker_with_fleet(data_dir: Path, devices: int, *, prefix: str = "bench") -> Iterator[Fleet]:
    """A Mosquitto in ``data_dir`` with a controller account and ``devices`` device accounts."""
    broker = MosquittoService(
        data_dir=data_dir / "mosquitto", service_users=("controller", "controller-drain")
    )
    broker.start()
    try:
        creds = local_fleet(devices, host=broker.host, port=broker.port, prefix=prefix)
        accounts = [BrokerAccount(c.mqtt_username, hash_password(c.mqtt_password)) for c in creds]
        password, drain_password = generate_password(), generate_password()
        accounts.append(BrokerAccount("controller", hash_password(password)))
        accounts.append(BrokerAccount("controller-drain", hash_password(drain_password)))
        broker.accounts.write(accounts)
        time.sleep(0.5)  # SIGHUP is asynchronous; give the broker a moment to re-read the files
        yield Fleet(broker, creds, "controller", password, "controller-drain", drain_password)
    finally:
        broker.stop()


def seed_registry(database_url: str, creds: list[EnrollResponse]) -> None:
    """Create the schema and one enrolled device (and station) per credential, so ingest accepts them."""
    from datetime import UTC, datetime

    from sqlalchemy import insert

    import station_controller.auth.models
    import station_controller.commands.models  # noqa: F401 - every table in the metadata
    from station_controller.db import Base, make_engine
    from station_controller.registry.models import Device, Region, Station

    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    now = datetime.now(UTC)
    path = "河南省/南阳市/唐河县/城郊乡/王庄村"
    with engine.begin() as conn:
        conn.execute(insert(Region), [{"id": 1, "name": "王庄村", "parent_id": None, "path": path}])
        conn.execute(
            insert(Station),
            [
                {
                    "id": i + 1,
                    "code": f"B-{i + 1:06d}",
                    "name": f"站{i + 1}",
                    "region_id": 1,
                    "created_at": now,
                }
                for i in range(len(creds))
            ],
        )
        conn.execute(
            insert(Device),
            [
                {
                    "id": c.device_id,
                    "station_id": i + 1,
                    "role": c.role,
                    "serial": f"B-{i + 1:06d}-{c.role}",
                    "region_path": path,
                    "status": "enrolled",
                    "enrolled_at": now,
                }
                for i, c in enumerate(creds)
            ],
        )
    engine.dispose()


def controller_settings(tmp: Path, fleet: Fleet, tsdb_url: str) -> Any:
    """Controller settings for a bench: SQLite registry in ``tmp``, the bench broker and TSDB."""
    from pydantic import SecretStr

    from station_controller.settings import Settings

    return Settings(
        data_dir=tmp,
        secret_key=SecretStr(generate_password()),
        mqtt_host=fleet.broker.host,
        mqtt_port=fleet.broker.port,
        mqtt_username=fleet.controller_username,
        mqtt_password=SecretStr(fleet.controller_password),
        tsdb_url=tsdb_url,
        offline_after_s=600.0,
    )
