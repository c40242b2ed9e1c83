"""Typed controller settings, loaded once per process from ``STATION_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a controller process needs; timeouts and limits live here so tests set them."""

    model_config = SettingsConfigDict(env_prefix="STATION_", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str = ""  # empty → sqlite:///{data_dir}/registry.db

    http_host: str = "127.0.0.1"
    http_port: int = 8080
    public_url: str = ""  # empty → http://{http_host}:{http_port}; told to devices at enrollment
    secret_key: SecretStr  # signs console sessions and CSRF tokens; no default on purpose

    # The controller's own broker account (it may read every uplink and write every downlink).
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    mqtt_tls_ca: Path | None = None
    mqtt_username: str = "controller"
    mqtt_password: SecretStr
    # Empty: one durable plain subscription (Mosquitto 2.0 does not restore $share subscriptions of a
    # persistent session after a broker restart, so uplinks published before the controller resubscribes
    # would be lost). Set a group name to spread ingest over workers on a broker that does (EMQX).
    mqtt_share_group: str = ""
    mqtt_keepalive_s: int = 30
    # What enrolling devices are told to connect to (may differ from what the controller uses).
    device_mqtt_host: str = ""
    device_mqtt_port: int = 0
    device_mqtt_tls: bool = False

    # Mosquitto files the controller owns; rendered from the registry, then the broker gets SIGHUP.
    broker_password_file: Path | None = None
    broker_acl_file: Path | None = None
    broker_pid_file: Path | None = None

    tsdb_url: str = "http://127.0.0.1:8428"  # influxdb-client writes to {tsdb_url}/api/v2/write
    tsdb_query_url: str = ""  # Prometheus API base; empty → tsdb_url
    tsdb_org: str = "station"
    tsdb_bucket: str = "station"
    tsdb_token: SecretStr = SecretStr("")
    tsdb_batch_points: int = 5000
    tsdb_timeout_s: float = 10.0
    tsdb_retry_buffer_points: int = 2_000_000
    tsdb_retry_max_delay_s: float = 30.0

    ingest_flush_interval_s: float = 1.0
    offline_after_s: float = 120.0  # no message for this long → offline even without a will
    ingest_dedup_window: int = 200_000  # recent message ids remembered to drop redelivered duplicates

    command_timeout_s: float = 30.0
    command_expiry_s: float = 3600.0
    enrollment_token_ttl_s: float = 14 * 24 * 3600.0
    staff_session_ttl_s: float = 12 * 3600.0
    login_attempts_per_minute: int = 10

    @field_validator("secret_key", "mqtt_password")
    @classmethod
    def _no_placeholder(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if len(raw) < 16 or raw.lower() in {"changeme", "change-me", "secret", "password"}:
            raise ValueError("must be a generated secret of at least 16 characters (see `make run`)")
        return value

    @model_validator(mode="after")
    def _fill_derived(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'registry.db').resolve()}"
        if not self.public_url:
            self.public_url = f"http://{self.http_host}:{self.http_port}"
        if not self.tsdb_query_url:
            self.tsdb_query_url = self.tsdb_url
        broker_dir = self.data_dir / "broker"
        self.broker_password_file = self.broker_password_file or broker_dir / "passwd"
        self.broker_acl_file = self.broker_acl_file or broker_dir / "acl"
        self.broker_pid_file = self.broker_pid_file or broker_dir / "mosquitto.pid"
        self.device_mqtt_host = self.device_mqtt_host or self.mqtt_host
        self.device_mqtt_port = self.device_mqtt_port or self.mqtt_port
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings; fails fast with pydantic's message naming each bad variable."""
    return Settings()  # type: ignore[call-arg]
