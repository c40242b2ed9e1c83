"""Secrets: encrypted at rest, never shown back in full, masked in job logs and the process log."""

from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from station_controller.provisioning import secrets as secret_store
from station_controller.provisioning.errors import SecretsKeyError
from station_controller.provisioning.jobs import service
from station_controller.provisioning.jobs.contract import ActionContext, DeviceOutcome
from station_controller.provisioning.jobs.runner import JobRunner
from station_controller.provisioning.jobs.service import JobRequest, Selector
from station_controller.provisioning.models import ProvisioningSecret
from station_controller.provisioning.targets import TargetIn, put_target
from station_controller.settings import Settings
from tests.controller.provisioning.fakes import poll, registry_of

PASSWORD = "Huawei@2024-village-Xy9"
KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)


class LeakyAction:
    """A careless action: logs the password everywhere it can."""

    name = "fake.leaky"

    def run(self, ctx: ActionContext) -> DeviceOutcome:
        password = ctx.secrets.password()
        ctx.log(f"logging in with {password}")
        logging.getLogger("station_controller.provisioning.jobs.runner").warning(
            "%s pw=%s", ctx.device.device_id, password
        )
        return DeviceOutcome("failed", reason=f"login refused for password {password}")


@pytest.fixture
def stored(prov_db: sessionmaker[Session], prov_settings: Settings) -> None:
    with prov_db() as session:
        secret_store.put_secret(
            session, settings=prov_settings, name="huawei-default", kind="password", value=PASSWORD
        )
        secret_store.put_secret(session, settings=prov_settings, name="ops-key", kind="ssh_key", value=KEY)


def test_stored_form_is_encrypted_and_listing_shows_no_value(
    prov_db: sessionmaker[Session], prov_settings: Settings, stored: None
) -> None:
    with prov_db() as session:
        raw = session.execute(text("SELECT name, ciphertext, hint FROM provisioning_secrets")).all()
        listed = secret_store.list_secrets(session)
        row = session.scalar(select(ProvisioningSecret).where(ProvisioningSecret.name == "huawei-default"))
    assert row is not None
    dump = repr(raw) + repr(listed)
    assert PASSWORD not in dump
    assert "b3BlbnNzaC1rZXktdjEA" not in dump
    assert {s.hint for s in listed} == {"***y9", "OPENSSH PRIVATE KEY"}
    assert secret_store.SecretBox(prov_settings).decrypt(row.ciphertext) == PASSWORD


def test_a_wrong_key_cannot_decrypt_and_rotation_keeps_secrets(
    prov_db: sessionmaker[Session], prov_settings: Settings, stored: None
) -> None:
    new_key = Fernet.generate_key().decode()
    rotated = prov_settings.model_copy(update={"provisioning_secrets_key": _secret(new_key)})
    with prov_db() as session:
        with pytest.raises(SecretsKeyError):
            secret_store.read_secret(session, box=secret_store.SecretBox(rotated), name="huawei-default")
        old = secret_store.derived_key(prov_settings.secret_key.get_secret_value()).decode()
        both = rotated.model_copy(update={"provisioning_secrets_old_keys": [_secret(old)]})
        assert secret_store.reencrypt_all(session, settings=both) == 2
        value = secret_store.read_secret(session, box=secret_store.SecretBox(rotated), name="huawei-default")
    assert value == PASSWORD


def _secret(value: str) -> object:
    from pydantic import SecretStr

    return SecretStr(value)


def test_a_job_using_a_password_logs_no_secret(
    prov_db: sessionmaker[Session],
    prov_settings: Settings,
    fleet: list[str],
    stored: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with prov_db() as session:
        put_target(
            session, device_id=fleet[0], data=TargetIn(host="10.77.0.2", password_secret="huawei-default")
        )
    runner = JobRunner(prov_db, actions=registry_of(LeakyAction()), settings=prov_settings)
    runner.start()
    try:
        with prov_db() as session:
            job = service.create_job(
                session,
                settings=prov_settings,
                actions=runner.actions,
                request=JobRequest("fake.leaky", Selector(device_ids=[fleet[0]])),
                user="op",
            )
        runner.wake()
        poll(lambda: _status(prov_db, job.id) == "done")
    finally:
        runner.stop()
    with prov_db() as session:
        lines = [line.line for line in service.logs_after(session, job_id=job.id)]
        (result,) = service.job_devices(session, job_id=job.id)
    assert lines == ["logging in with ***"]
    assert result.reason == "login refused for password ***"
    assert "pw=***" in caplog.text
    assert PASSWORD not in caplog.text


def _status(factory: sessionmaker[Session], job_id: int) -> str:
    with factory() as session:
        return service.get_job(session, job_id=job_id).status
