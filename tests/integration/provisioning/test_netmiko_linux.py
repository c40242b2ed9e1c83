"""netmiko's `linux` profile against a real sshd, run as provisioning jobs: import, dry run, push, verify,
drift, and a push that fails verification and is rolled back to the backup."""

from __future__ import annotations

import logging
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from station_controller.db import make_engine, make_session_factory
from station_controller.migrations import upgrade_head
from station_controller.provisioning.configs import actions as config_actions
from station_controller.provisioning.configs.models import ConfigBackup, DeviceConfigState
from station_controller.provisioning.jobs.contract import ActionDeps, ActionRegistry
from station_controller.provisioning.jobs.models import Job, JobDevice, JobLog
from station_controller.provisioning.jobs.runner import JobRunner
from station_controller.provisioning.jobs.service import JobRequest, Selector, create_job
from station_controller.settings import Settings
from tests.controller.api.core_fixtures import make_settings
from tests.controller.provisioning.legacy.helpers import COUNTY, add_router, baseline_items, publish
from tests.integration.provisioning.fake_router import BASELINE, FakeRouter, start_router
from tests.support import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def router(tmp_path: Path) -> Iterator[FakeRouter]:
    fake = start_router(tmp_path / "router")
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[sessionmaker[Session], Settings, JobRunner]]:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    upgrade_head(url)
    settings = make_settings(tmp_path, url, provisioning_idle_poll_s=0.05, legacy_ssh_read_timeout_s=20.0)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    registry = ActionRegistry()
    config_actions.register(registry, ActionDeps(settings=settings, session_factory=factory))
    runner = JobRunner(factory, actions=registry, settings=settings)
    runner.start()
    try:
        yield factory, settings, runner
    finally:
        runner.stop()
        engine.dispose()


def run_job(
    stack: tuple[sessionmaker[Session], Settings, JobRunner],
    action: str,
    device_id: str,
    *,
    dry_run: bool = False,
) -> JobDevice:
    (result,) = run_job_over(stack, action, [device_id], dry_run=dry_run).values()
    return result


def run_job_over(
    stack: tuple[sessionmaker[Session], Settings, JobRunner],
    action: str,
    device_ids: list[str],
    *,
    dry_run: bool = False,
) -> dict[str, JobDevice]:
    factory, settings, runner = stack
    with factory() as session:
        job = create_job(
            session,
            settings=settings,
            actions=runner.actions,
            user="tester",
            request=JobRequest(action=action, selector=Selector(device_ids=device_ids), dry_run=dry_run),
        )
    runner.wake()

    def finished() -> dict[str, JobDevice] | None:
        with factory() as session:
            done = session.get(Job, job.id)
            assert done is not None
            if done.status != "done":
                return None
            rows = session.scalars(select(JobDevice).where(JobDevice.job_id == job.id))
            return {row.device_id: row for row in rows}

    return wait_until(finished, timeout=120, message=f"job {action}")


def test_linux_router_backup_push_verify_and_rollback(
    router: FakeRouter,
    stack: tuple[sessionmaker[Session], Settings, JobRunner],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    factory, settings, _runner = stack
    device_id = add_router(
        factory, settings, serial="WZ-GW-01", station="st-wz-01", port=router.port, key=router.private_key
    )
    publish(factory, settings, items=baseline_items())

    # Import the router as it runs in the field: its config becomes the baseline, facts via ntc-templates.
    imported = run_job(stack, "config.import", device_id)
    assert imported.status == "ok", imported.reason
    assert imported.data is not None
    assert "lo" in imported.data["facts"]["interfaces"]
    with factory() as session:
        baseline = session.get(ConfigBackup, imported.data["backup_id"])
        assert baseline is not None
        assert "wireless.default_radio0.ssid='OpenWrt'" in baseline.content

    # Dry run: the diff, and nothing changes on the router.
    dry = run_job(stack, "config.push", device_id, dry_run=True)
    assert dry.status == "changed"
    assert "+wireless.sf_guest.ssid='唐河县 Free WiFi'" in dry.diff
    assert "+wifidog.sf_guest.auth_server_path='/wifidog/'" in dry.diff
    assert router.config() == BASELINE

    # Push: applied, verified, recorded as revision 1 (and a second push has nothing to do).
    pushed = run_job(stack, "config.push", device_id)
    assert pushed.status == "changed", pushed.reason
    live = router.config()
    assert live["wireless.sf_guest.ssid"] == "唐河县 Free WiFi"
    assert live["sqm.sf_guest.download"] == "8192"
    assert live["wifidog.sf_guest.gateway_id"] == device_id
    assert live["wireless.default_radio0.ssid"] == "OpenWrt"  # unmanaged sections are left alone
    assert run_job(stack, "config.push", device_id).status == "ok"
    assert run_job(stack, "config.drift", device_id).status == "ok"
    with factory() as session:
        state = session.get(DeviceConfigState, device_id)
        assert state is not None
        assert (state.status, state.applied_seq) == ("applied", 1)

    # A new revision the firmware silently ignores: verification fails and the backup is restored.
    before = router.config()
    router.ignore("wireless.sf_guest.ssid")
    publish(
        factory,
        settings,
        items=[
            ("variable", "region", COUNTY, ("ssid", "王庄村-WiFi")),
            ("variable", "global", "", ("down_kbps", 4096)),
        ],
    )
    failed = run_job(stack, "config.push", device_id)
    assert failed.status == "failed"
    assert failed.data is not None
    assert "verification failed" in failed.reason
    assert "wireless.sf_guest.ssid" in failed.reason
    assert f"rolled back to backup #{failed.data['backup_id']}" in failed.reason
    assert router.config() == before  # down_kbps went to 4096 and back to 8192
    with factory() as session:
        state = session.get(DeviceConfigState, device_id)
        assert state is not None
        assert state.status == "failed"
        assert state.applied_seq == 1
        reasons = [
            b.reason for b in session.scalars(select(ConfigBackup).where(ConfigBackup.device_id == device_id))
        ]
        lines = [row.line for row in session.scalars(select(JobLog))]
    assert reasons == ["import", "pre-push", "post-push", "pre-push", "rollback"]
    assert any("restoring the backup" in line for line in lines)

    # A technician changes the router by hand: the drift check says so, explicitly.
    router.ignore()
    live = router.config()
    live["wireless.sf_guest.ssid"] = "tech-test"
    router.write_config(live)
    drifted = run_job(stack, "config.drift", device_id)
    assert drifted.status == "failed"
    assert "+wireless.sf_guest.ssid='tech-test'" in drifted.diff
    with factory() as session:
        state = session.get(DeviceConfigState, device_id)
        assert state is not None
        assert state.status == "drifted"

    # The private key never reaches a log line or a job log.
    key_body = router.private_key.splitlines()[1]
    assert key_body not in caplog.text
    assert not any(key_body in line for line in lines)


def test_password_from_the_secrets_store_and_per_router_results(
    tmp_path: Path, stack: tuple[sessionmaker[Session], Settings, JobRunner], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    factory, settings, _runner = stack
    password = "Vill4ge-Router-" + secrets.token_hex(6)
    router = start_router(tmp_path / "pw-router", password=password)
    try:
        good = add_router(
            factory, settings, serial="PW-01", station="st-pw-01", port=router.port, password=password
        )
        wrong = add_router(
            factory,
            settings,
            serial="PW-02",
            station="st-pw-02",
            port=router.port,
            password="not-" + password,
        )
        with socket.socket() as probe:  # a port nobody listens on: the router is "powered off"
            probe.bind(("127.0.0.1", 0))
            dead_port = probe.getsockname()[1]
        dead = add_router(
            factory, settings, serial="PW-03", station="st-pw-03", port=dead_port, password=password
        )
        results = run_job_over(stack, "config.backup", [good, wrong, dead])
    finally:
        router.stop()
    assert results[good].status == "ok", results[good].reason
    assert results[wrong].status == "failed"
    assert "refused the stored credentials" in results[wrong].reason
    assert results[dead].status == "unreachable"
    assert "cannot open SSH" in results[dead].reason
    with factory() as session:
        backup = session.get(ConfigBackup, (results[good].data or {})["backup_id"])
        assert backup is not None
        assert "system.cfg01e48a.hostname='WangZhuang-GW'" in backup.content
        stored = " ".join(row.line for row in session.scalars(select(JobLog)))
    reasons = " ".join(r.reason for r in results.values())
    for text in (caplog.text, stored, reasons):
        assert password not in text
