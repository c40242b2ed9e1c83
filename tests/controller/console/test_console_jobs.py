"""Console: register stations by CSV import, start a provisioning job, see its per-device results."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.support import wait_until

Csrf = Callable[[str], str]
CSV = (
    "station_code,station_name,region_path,role,serial,mac,tags\n"
    "NY-101,黄庄服务站,河南省/南阳市/宛城区/黄台岗镇/黄庄村,stb,SN-NY101-S,,试点\n"
    "NY-101,黄庄服务站,河南省/南阳市/宛城区/黄台岗镇/黄庄村,router,SN-NY101-R,02:00:00:00:01:01,试点\n"
)


def test_csv_import_shows_the_one_time_tokens(operator: TestClient, csrf_from: Csrf) -> None:
    token = csrf_from(operator.get("/console/register").text)
    page = operator.post(
        "/console/register", data={"csrf": token}, files={"file": ("stations.csv", CSV.encode(), "text/csv")}
    )
    assert page.status_code == 200
    assert 'data-testid="csv-result"' in page.text
    assert "router-sn-ny101-r" in page.text
    assert page.text.count("<code>") == 2  # one token per device, shown once
    assert "黄庄服务站" in operator.get("/console/?q=NY-101").text


def test_bad_csv_lists_problems_by_line_and_creates_nothing(operator: TestClient, csrf_from: Csrf) -> None:
    bad = CSV + "NY-102,坏行,河南省/南阳市,phone,SN-X,,\n"
    token = csrf_from(operator.get("/console/register").text)
    page = operator.post(
        "/console/register", data={"csrf": token}, files={"file": ("stations.csv", bad.encode(), "text/csv")}
    )
    assert 'data-testid="csv-problems"' in page.text
    assert "<td>4</td>" in page.text  # the bad row's line number
    assert "黄庄服务站" not in operator.get("/console/?q=NY-101").text


def test_viewer_cannot_import_or_start_jobs(viewer: TestClient, csrf_from: Csrf) -> None:
    token = csrf_from(viewer.get("/console/register").text)
    refused = viewer.post(
        "/console/register", data={"csrf": token}, files={"file": ("s.csv", CSV.encode(), "text/csv")}
    )
    assert refused.status_code == 403
    assert 'data-testid="job-form"' not in viewer.get("/console/jobs/").text


def test_operator_starts_a_dry_run_job_and_sees_it_finish(operator: TestClient, csrf_from: Csrf) -> None:
    page = operator.get("/console/jobs/")
    assert 'value="bootstrap"' in page.text
    started = operator.post(
        "/console/jobs/",
        data={"csrf": csrf_from(page.text), "action": "bootstrap", "station": "TH-001", "dry_run": "1"},
    )
    assert started.status_code == 303
    job_url = started.headers["location"]

    def finished() -> str | None:
        text = operator.get(job_url).text
        return text if 'data-testid="job-status">running' not in text else None

    done = wait_until(finished, timeout=60, interval=0.5, message="job finished")
    assert 'data-testid="job-device-stb-sn-a1"' in done
    assert 'data-testid="job-device-router-sn-a2"' in done
    assert 'http-equiv="refresh"' not in done  # a finished job stops reloading itself
