"""Helpers for the controller tests: settings on a temp DB, the ``Api`` client wrapper, the staff password.

The fixtures built on them (``sqlite_url``, ``any_db_url``, ``db``, ``db_settings``, ``api``) are in
tests/controller/conftest.py."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from station_controller.auth.service import create_user
from station_controller.settings import Settings
from tests.fakes.ingest import FakeIngest

PASSWORD = "correct horse battery staple"


def make_settings(tmp_path: Path, database_url: str, **overrides: object) -> Settings:
    """Settings on ``database_url`` with broker files in ``tmp_path`` and no broker to signal."""
    values: dict[str, object] = {
        "data_dir": tmp_path,
        "database_url": database_url,
        "secret_key": secrets.token_urlsafe(24),
        "mqtt_password": secrets.token_urlsafe(24),
        "broker_password_file": tmp_path / "broker" / "passwd",
        "broker_acl_file": tmp_path / "broker" / "acl",
        "device_mqtt_host": "mqtt.example.test",
        "device_mqtt_port": 18830,
        "login_attempts_per_minute": 5,
        **overrides,
    }
    settings = Settings(**values)  # type: ignore[arg-type]
    settings.broker_pid_file = None
    return settings


@dataclass
class Api:
    """A running app on a migrated SQLite registry, with helpers to log staff in."""

    client: TestClient
    settings: Settings
    sessions: sessionmaker[Session]
    ingest: FakeIngest

    def user(self, role: str, username: str | None = None) -> dict[str, str]:
        """Create a staff user with ``role`` and return bearer headers of a fresh login."""
        name = username or f"{role}-{uuid.uuid4().hex[:6]}"
        with self.sessions() as session:
            create_user(session, username=name, password=PASSWORD, role=role)
        reply = self.client.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
        assert reply.status_code == 200, reply.text
        self.client.cookies.clear()  # tests choose explicitly between bearer and cookie
        return {"authorization": f"Bearer {reply.json()['token']}"}
