"""Credentials file (JSON lines of EnrollResponse) and the station CSV the controller imports."""

from __future__ import annotations

import csv
import io
import json
import os
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from station_protocol import ProtocolError
from station_protocol.enrollment import EnrollResponse

from .errors import CredentialsError

CSV_COLUMNS = ("station_code", "station_name", "region_path", "role", "serial", "mac", "tags")
PROVINCE = "河南省"
CITIES = ("郑州市", "洛阳市", "南阳市", "信阳市", "周口市", "商丘市", "驻马店市", "开封市")
COUNTY_STEMS = (
    "唐河",
    "新野",
    "淅川",
    "西峡",
    "固始",
    "潢川",
    "鹿邑",
    "太康",
    "永城",
    "夏邑",
    "汝南",
    "确山",
)
TOWN_STEMS = ("城郊", "桐河", "湖阳", "苍台", "毕店", "古城", "黑龙", "龙潭", "马振抚", "源潭")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
VILLAGE_SUFFIXES = ("庄村", "营村", "寨村", "集村", "屯村", "洼村", "楼村", "店村")


@dataclass(frozen=True)
class StationRow:
    """One device line of the import CSV."""

    station_code: str
    station_name: str
    region_path: str
    role: str
    serial: str
    mac: str
    tags: str

    def as_row(self) -> list[str]:
        return [getattr(self, name) for name in CSV_COLUMNS]


def load_credentials(path: Path) -> list[EnrollResponse]:
    """Read a JSON-lines credentials file.

    Raises:
        CredentialsError: unreadable file or a line that is not an EnrollResponse.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CredentialsError(f"cannot read credentials file {path}: {exc}") from exc
    creds = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            creds.append(_parse_line(path, number, line))
    return creds


def _parse_line(path: Path, number: int, line: str) -> EnrollResponse:
    try:
        return EnrollResponse.from_dict(json.loads(line))
    except (ValueError, ProtocolError) as exc:
        raise CredentialsError(
            f"{path}:{number}: not an EnrollResponse ({exc}); fix the line or delete the file"
        ) from exc


def save_credentials(path: Path, creds: Iterable[EnrollResponse]) -> None:
    """Write credentials owner-readable only (they hold broker passwords), replacing atomically."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        for cred in creds:
            out.write(json.dumps(cred.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n")
    os.replace(tmp, path)


def region_path(index: int, rng: random.Random) -> str:
    """A plausible province/city/county/township/village path; stations cluster in villages."""
    city = CITIES[index % len(CITIES)]
    county = COUNTY_STEMS[(index // len(CITIES)) % len(COUNTY_STEMS)] + "县"
    town = rng.choice(TOWN_STEMS) + rng.choice(("镇", "乡"))
    village = rng.choice(SURNAMES) + rng.choice(SURNAMES[:6]) + rng.choice(VILLAGE_SUFFIXES)
    return f"{PROVINCE}/{city}/{county}/{town}/{village}"


def station_rows(
    count: int, *, prefix: str = "sim", with_router: bool = False, seed: int = 0
) -> list[StationRow]:
    """CSV rows for ``count`` stations (an STB each, plus a router when asked); codes use ``prefix``."""
    rng = random.Random(seed)
    roles = ("stb", "router") if with_router else ("stb",)
    rows = []
    for i in range(count):
        path = region_path(i, rng)
        code = f"{prefix.upper()}-{i + 1:06d}"
        tags = ";".join(["simulated"] + (["pilot"] if rng.random() < 0.1 else []))
        for role in roles:
            serial = f"{code}-{role.upper()}"
            rows.append(
                StationRow(code, path.rsplit("/", 1)[-1] + "服务站", path, role, serial, _mac(rng), tags)
            )
    return rows


def _mac(rng: random.Random) -> str:
    # 02: locally administered, so simulated MACs never collide with a vendor's.
    return "02:" + ":".join(f"{rng.randrange(256):02x}" for _ in range(5))


def rows_to_csv(rows: Sequence[StationRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(row.as_row() for row in rows)
    return out.getvalue()
