"""Registry list/filter latency over 100,000 devices (50,000 stations x 2) on SQLite and PostgreSQL.

Rows are bulk-inserted with SQLAlchemy core executemany (a 5-level Henan region tree, tags, random
online / agent_version), then each query of the registry's own list functions runs N times with a
50-row page and its total count. Prints p50/p95 per query and backend (target p95 <= 50 ms).

    .venv/bin/python bench/registry.py [--stations 50000] [--repeat 30] [--backend sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import write_result
from sqlalchemy import Engine, insert, text
from sqlalchemy.orm import Session

import station_controller.auth.models
import station_controller.commands.models  # noqa: F401 - every table in the metadata
from station_controller.db import Base, make_engine, make_session_factory
from station_controller.devstack import PostgresService
from station_controller.registry.models import Device, Region, Station, Tag, station_tags
from station_controller.registry.queries import DeviceFilter, Page, list_devices, list_stations
from station_simulator.credentials import CITIES, COUNTY_STEMS, SURNAMES, TOWN_STEMS

VERSIONS = (("1.4.2", 0.6), ("1.4.1", 0.25), ("1.3.9", 0.1), ("1.2.0", 0.05))
TAGS = ("pilot", "solar", "fiber", "4g-backup", "school", "clinic")
CHUNK = 10_000


def _region_rows() -> tuple[list[dict[str, Any]], list[str]]:
    """The tree (province/8 cities/6 counties/8 towns/10 villages) and the village paths."""
    rows: list[dict[str, Any]] = []
    villages: list[str] = []

    def add(name: str, parent: dict[str, Any] | None) -> dict[str, Any]:
        path = f"{parent['path']}/{name}" if parent else name
        row = {"id": len(rows) + 1, "name": name, "parent_id": parent["id"] if parent else None, "path": path}
        rows.append(row)
        return row

    province = add("河南省", None)
    for city_name in CITIES:
        city = add(city_name, province)
        for c in range(6):
            county = add(COUNTY_STEMS[(CITIES.index(city_name) + c) % len(COUNTY_STEMS)] + f"{c}县", city)
            for t in range(8):
                town = add(TOWN_STEMS[t % len(TOWN_STEMS)] + f"{t}镇", county)
                for v in range(10):
                    villages.append(
                        add(SURNAMES[v] + SURNAMES[(v + t) % len(SURNAMES)] + "庄村", town)["path"]
                    )
    return rows, villages


def populate(engine: Engine, stations: int, seed: int = 1) -> dict[str, Any]:
    """Create the schema and bulk-insert regions, tags, stations, station tags and devices."""
    rng = random.Random(seed)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    regions, villages = _region_rows()
    region_id = {r["path"]: r["id"] for r in regions}
    now = datetime.now(UTC)
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(insert(Region), regions)
        conn.execute(insert(Tag), [{"id": i + 1, "name": name} for i, name in enumerate(TAGS)])
        for start in range(0, stations, CHUNK):
            st_rows, tag_rows, dev_rows = [], [], []
            for sid in range(start + 1, min(stations, start + CHUNK) + 1):
                path = villages[rng.randrange(len(villages))]
                st_rows.append(
                    {
                        "id": sid,
                        "code": f"ST-{sid:06d}",
                        "name": f"站{sid}",
                        "region_id": region_id[path],
                        "created_at": now,
                    }
                )
                tag_rows += [
                    {"station_id": sid, "tag_id": t + 1} for t in range(len(TAGS)) if rng.random() < 0.15
                ]
                for role in ("stb", "router"):
                    dev_rows.append(_device_row(rng, sid, role, path, now))
            conn.execute(insert(Station), st_rows)
            if tag_rows:
                conn.execute(insert(station_tags), tag_rows)
            conn.execute(insert(Device), dev_rows)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return {
        "stations": stations,
        "devices": 2 * stations,
        "regions": len(regions),
        "insert_s": round(time.perf_counter() - started, 1),
    }


def _device_row(rng: random.Random, sid: int, role: str, path: str, now: datetime) -> dict[str, Any]:
    version = rng.choices([v for v, _ in VERSIONS], weights=[w for _, w in VERSIONS])[0]
    device_id, serial = f"{role}-st-{sid:06d}", f"ST-{sid:06d}-{role.upper()}"
    mac = "02:" + ":".join(f"{rng.randrange(256):02x}" for _ in range(5))
    return {
        "id": device_id,
        "station_id": sid,
        "role": role,
        "serial": serial,
        "mac": mac,
        "search_text": f"{device_id} {serial} {mac} st-{sid:06d} 站{sid}".lower(),
        "region_path": path,
        "status": "enrolled",
        "online": rng.random() < 0.8,
        "agent_version": version,
        "last_seen_at": now,
        "desired_config_version": 0,
        "reported_config_version": 0,
    }


def _queries() -> dict[str, Callable[[Session], tuple[int, int]]]:
    city, county = "河南省/南阳市", "河南省/南阳市/" + COUNTY_STEMS[2] + "0县"

    def devices(flt: DeviceFilter, page: Page | None = None) -> Callable[[Session], tuple[int, int]]:
        def run(session: Session) -> tuple[int, int]:
            rows, total = list_devices(session, flt=flt, page=page or Page(limit=50))
            return len(rows), total

        return run

    def stations(region: str) -> Callable[[Session], tuple[int, int]]:
        def run(session: Session) -> tuple[int, int]:
            rows, total = list_stations(session, region=region, page=Page(limit=50))
            return len(rows), total

        return run

    return {
        "devices: all, page 1": devices(DeviceFilter()),
        "devices: city subtree": devices(DeviceFilter(region=city)),
        "devices: county subtree": devices(DeviceFilter(region=county)),
        "devices: tag pilot": devices(DeviceFilter(tag="pilot")),
        "devices: role router": devices(DeviceFilter(role="router")),
        "devices: offline": devices(DeviceFilter(online=False)),
        "devices: agent 1.2.0": devices(DeviceFilter(agent_version="1.2.0")),
        "devices: city+offline+stb": devices(DeviceFilter(region=city, online=False, role="stb")),
        "devices: city keyset page 40": devices(
            DeviceFilter(region=city), Page(limit=50, after="router-st-040000")
        ),
        "devices: search 'ST-0012'": devices(DeviceFilter(q="ST-0012")),
        "stations: city subtree": stations(city),
    }


def measure(engine: Engine, repeat: int) -> dict[str, dict[str, Any]]:
    factory = make_session_factory(engine)
    out: dict[str, dict[str, Any]] = {}
    for name, query in _queries().items():
        times = []
        for _ in range(repeat):
            with factory() as session:
                started = time.perf_counter()
                rows, total = query(session)
                times.append((time.perf_counter() - started) * 1000)
        times.sort()
        out[name] = {
            "p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(statistics.quantiles(times, n=20, method="inclusive")[18], 2),
            "rows": rows,
            "total": total,
        }
    return out


def _print(backend: str, info: dict[str, Any], results: dict[str, dict[str, Any]]) -> None:
    print(
        f"\n{backend}: {info['devices']} devices, {info['regions']} regions, inserted in {info['insert_s']} s"
    )
    print(f"{'query':32} {'p50 ms':>8} {'p95 ms':>8} {'total':>8}")
    for name, r in results.items():
        flag = "" if r["p95_ms"] <= 50 else "  > 50 ms target"
        print(f"{name:32} {r['p50_ms']:8.2f} {r['p95_ms']:8.2f} {r['total']:8}{flag}")


def run_backend(backend: str, url: str, stations: int, repeat: int) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        info = populate(engine, stations)
        results = measure(engine, repeat)
    finally:
        engine.dispose()
    _print(backend, info, results)
    return {"setup": info, "queries": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    out: dict[str, Any] = {"stations": args.stations, "repeat": args.repeat}
    with tempfile.TemporaryDirectory() as tmp:
        if args.backend in ("sqlite", "both"):
            out["sqlite"] = run_backend(
                "sqlite", f"sqlite:///{Path(tmp) / 'registry.db'}", args.stations, args.repeat
            )
        if args.backend in ("postgres", "both"):
            pg = PostgresService()
            pg.start()
            try:
                out["postgres"] = run_backend("postgresql", pg.url, args.stations, args.repeat)
            finally:
                pg.destroy()
    write_result("registry", out)


if __name__ == "__main__":
    main()
