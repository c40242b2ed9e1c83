"""Jobs over 50 devices: per-device results, retry of only the failed ones, dry run, restart mid-job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from station_controller.errors import Conflict, InvalidInput
from station_controller.provisioning.errors import UnknownAction
from station_controller.provisioning.jobs import service
from station_controller.provisioning.jobs.runner import JobRunner
from station_controller.provisioning.jobs.service import JobRequest, Selector
from station_controller.settings import Settings
from tests.controller.provisioning.fakes import FleetAction, GatedAction, poll, registry_of

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def action() -> FleetAction:
    return FleetAction()


@pytest.fixture
def runner(
    prov_db: sessionmaker[Session], prov_settings: Settings, action: FleetAction
) -> Iterator[JobRunner]:
    runner = JobRunner(prov_db, actions=registry_of(action), settings=prov_settings)
    runner.start()
    try:
        yield runner
    finally:
        runner.stop()


def _create(factory: sessionmaker[Session], settings: Settings, runner: JobRunner, **kw: object) -> int:
    req = JobRequest(action=str(kw.pop("action", "fake.fleet")), selector=Selector(tags=["wave1"]), **kw)  # type: ignore[arg-type]
    with factory() as session:
        job = service.create_job(session, settings=settings, actions=runner.actions, request=req, user="op")
    runner.wake()
    return job.id


def _wait_done(factory: sessionmaker[Session], job_id: int) -> dict[str, int]:
    def finished() -> bool:
        with factory() as session:
            return service.get_job(session, job_id=job_id).status == "done"

    poll(finished)
    with factory() as session:
        return service.counts(session, job_id=job_id)


def _results(factory: sessionmaker[Session], job_id: int) -> dict[str, tuple[str, str]]:
    with factory() as session:
        return {r.device_id: (r.status, r.reason) for r in service.job_devices(session, job_id=job_id)}


def _expected(i: int) -> str:
    return {3: "unreachable", 7: "failed"}.get(i % 10, "changed" if i % 2 == 0 else "ok")


def test_fifty_devices_get_the_right_result_each(
    prov_db: sessionmaker[Session], prov_settings: Settings, runner: JobRunner, fleet: list[str]
) -> None:
    job_id = _create(prov_db, prov_settings, runner)
    counts = _wait_done(prov_db, job_id)
    assert counts == {"unreachable": 5, "failed": 5, "changed": 25, "ok": 15}
    results = _results(prov_db, job_id)
    for i, device_id in enumerate(fleet):
        assert results[device_id][0] == _expected(i), device_id
    assert "uplink" in results[fleet[3]][1]
    assert "verification" in results[fleet[7]][1]
    with prov_db() as session:
        lines = service.logs_after(session, job_id=job_id)
    assert {line.device_id for line in lines} == set(fleet)


def test_retry_runs_only_the_failed_and_unreachable_devices(
    prov_db: sessionmaker[Session],
    prov_settings: Settings,
    runner: JobRunner,
    fleet: list[str],
    action: FleetAction,
) -> None:
    first = _create(prov_db, prov_settings, runner)
    _wait_done(prov_db, first)
    action.broken, action.calls = False, []
    with prov_db() as session:
        retry = service.retry_job(session, settings=prov_settings, job_id=first, user="op")
    runner.wake()
    assert retry.retry_of == first
    counts = _wait_done(prov_db, retry.id)
    failed_before = {d for i, d in enumerate(fleet) if i % 10 in (3, 7)}
    assert set(_results(prov_db, retry.id)) == failed_before
    assert {device for device, _dry in action.calls} == failed_before
    assert sum(counts.values()) == 10
    assert not {"failed", "unreachable"} & set(counts)
    with prov_db() as session, pytest.raises(Conflict):
        service.retry_job(session, settings=prov_settings, job_id=retry.id, user="op")


def test_dry_run_reaches_the_action_and_returns_diffs(
    prov_db: sessionmaker[Session],
    prov_settings: Settings,
    runner: JobRunner,
    fleet: list[str],
    action: FleetAction,
) -> None:
    action.broken = False
    job_id = _create(prov_db, prov_settings, runner, dry_run=True)
    assert _wait_done(prov_db, job_id) == {"changed": 50}
    assert all(dry for _device, dry in action.calls)
    with prov_db() as session:
        diffs = {r.device_id: r.diff for r in service.job_devices(session, job_id=job_id)}
    assert diffs[fleet[4]] == "-old 4\n+new 4"


def test_job_refuses_unknown_action_and_empty_selection(
    prov_db: sessionmaker[Session], prov_settings: Settings, runner: JobRunner, fleet: list[str]
) -> None:
    with pytest.raises(UnknownAction):
        _create(prov_db, prov_settings, runner, action="no.such")
    with prov_db() as session, pytest.raises(InvalidInput):
        service.create_job(
            session,
            settings=prov_settings,
            actions=runner.actions,
            request=JobRequest("fake.fleet", Selector(tags=["nobody"])),
            user="op",
        )


def test_concurrency_limit_holds(
    prov_db: sessionmaker[Session], prov_settings: Settings, fleet: list[str], tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    runner = JobRunner(prov_db, actions=registry_of(GatedAction(gate, quick=0)), settings=prov_settings)
    runner.start()
    try:
        job_id = _create(prov_db, prov_settings, runner, action="fake.gated", concurrency=3)
        poll(lambda: _count(prov_db, job_id).get("running") == 3)
        assert _count(prov_db, job_id) == {"running": 3, "queued": 47}
        gate.touch()
        assert _wait_done(prov_db, job_id) == {"changed": 50}
    finally:
        gate.touch()
        runner.stop()


def _count(factory: sessionmaker[Session], job_id: int) -> dict[str, int]:
    with factory() as session:
        return service.counts(session, job_id=job_id)


def test_a_controller_killed_mid_job_leaves_no_device_unknown_and_the_job_resumes(
    prov_db: sessionmaker[Session], prov_settings: Settings, fleet: list[str], tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    actions = registry_of(GatedAction(gate))
    with prov_db() as session:
        job = service.create_job(
            session,
            settings=prov_settings,
            actions=actions,
            request=JobRequest("fake.gated", Selector(region="河南省"), concurrency=5),
            user="op",
        )
    proc = subprocess.Popen(  # noqa: S603 - our own runner process, killed below
        [sys.executable, "-m", "tests.controller.provisioning.runner_proc", str(tmp_path), str(gate)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        poll(lambda: _count(prov_db, job.id) == {"changed": 10, "running": 5, "queued": 35}, timeout=15)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    restarted = JobRunner(prov_db, actions=actions, settings=prov_settings)
    restarted.start()
    try:
        assert restarted.recovered.wait(timeout=60), "the restarted runner never ran its recovery"
        assert _count(prov_db, job.id) == {"changed": 10, "interrupted": 5, "queued": 35}
        with prov_db() as session:
            assert service.get_job(session, job_id=job.id).status == "interrupted"
            interrupted = service.job_devices(session, job_id=job.id, status="interrupted")
            assert all("resume" in r.reason for r in interrupted)
            gate.touch()
            service.resume_job(session, job_id=job.id)
        restarted.wake()
        assert _wait_done(prov_db, job.id) == {"changed": 50}
        with prov_db() as session:
            attempts = {r.device_id: r.attempt for r in service.job_devices(session, job_id=job.id)}
        assert sorted(attempts[r.device_id] for r in interrupted) == [2] * 5
        assert sum(1 for a in attempts.values() if a == 1) == 45
    finally:
        gate.touch()
        restarted.stop()
