"""Credentials file round trip and errors; the station CSV the controller imports."""

from __future__ import annotations

import csv
import io
import stat
from pathlib import Path

import pytest

from station_protocol.enrollment import EnrollResponse
from station_simulator.credentials import (
    CSV_COLUMNS,
    load_credentials,
    rows_to_csv,
    save_credentials,
    station_rows,
)
from station_simulator.errors import CredentialsError


def _creds(n: int) -> list[EnrollResponse]:
    return [
        EnrollResponse(
            device_id=f"stb-sim-{i:06d}",
            role="stb",
            mqtt_host="127.0.0.1",
            mqtt_port=1883,
            mqtt_username=f"stb-sim-{i:06d}",
            mqtt_password=f"pw-{i}",
            station_id=i,
        )
        for i in range(n)
    ]


def test_credentials_round_trip_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "fleet.jsonl"
    save_credentials(path, _creds(3))
    assert load_credentials(path) == _creds(3)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_bad_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "fleet.jsonl"
    save_credentials(path, _creds(2))
    path.write_text(path.read_text() + '{"device_id": "stb-x"}\n')
    with pytest.raises(CredentialsError, match=r"fleet\.jsonl:3: not an EnrollResponse"):
        load_credentials(path)


def test_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="cannot read credentials file"):
        load_credentials(tmp_path / "absent.jsonl")


def test_station_csv_has_the_import_columns_and_unique_serials() -> None:
    rows = station_rows(50, prefix="t1", with_router=True, seed=3)
    parsed = list(csv.DictReader(io.StringIO(rows_to_csv(rows))))
    assert tuple(parsed[0].keys()) == CSV_COLUMNS
    assert len(parsed) == 100
    assert len({r["serial"] for r in parsed}) == 100
    assert {r["role"] for r in parsed} == {"stb", "router"}
    # Both devices of a station share its code and region.
    assert parsed[0]["station_code"] == parsed[1]["station_code"] == "T1-000001"
    assert parsed[0]["region_path"] == parsed[1]["region_path"]


def test_region_paths_form_a_five_level_tree_in_henan() -> None:
    paths = [r.region_path for r in station_rows(200, seed=1)]
    levels = [p.split("/") for p in paths]
    assert all(len(parts) == 5 and parts[0] == "河南省" for parts in levels)
    assert len({parts[1] for parts in levels}) > 3  # spread over several cities
    assert len(set(paths)) > 50


def test_rows_are_reproducible_for_a_seed() -> None:
    assert station_rows(10, seed=5) == station_rows(10, seed=5)
