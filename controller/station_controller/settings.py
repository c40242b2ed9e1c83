"""Typed controller settings, loaded once per process from ``STATION_*`` environment variables."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a controller process needs; timeouts and limits live here so tests set them."""

    model_config = SettingsConfigDict(env_prefix="STATION_", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str = ""  # empty → sqlite:///{data_dir}/registry.db

    http_host: str = "127.0.0.1"
    http_port: int = 8080
    public_url: str = ""  # empty → http://{http_host}:{http_port}; told to devices at enrollment
    # Browser origins (scheme://host[:port]) whose cookie-authenticated /api/v1 writes are accepted,
    # besides public_url's own origin (e.g. the console behind a second host name).
    trusted_origins: list[str] = []
    # Reverse proxies (IPs or CIDRs) whose X-Forwarded-For names the real client. Empty: the header
    # is ignored and the TCP peer is the client, also on loopback (main.py; cli.py keeps uvicorn's off).
    forwarded_allow_ips: list[str] = []
    secret_key: SecretStr  # signs console sessions and CSRF tokens; no default on purpose

    # The controller's own broker account (it may read every uplink and write every downlink).
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    mqtt_tls_ca: Path | None = None
    mqtt_username: str = "controller"
    mqtt_password: SecretStr
    # Extra `serve --only ingest --worker NAME` processes: each gets its own broker account
    # `<mqtt_username>-NAME` (the broker binds client id to username), password derived from
    # mqtt_password. List them here in the process that writes the broker files, then
    # `station-controller broker-sync` (broker/service_accounts.py, docs/scale-out.md).
    mqtt_ingest_workers: list[str] = []
    # Empty: one durable plain subscription (Mosquitto 2.0 does not restore $share subscriptions of a
    # persistent session after a broker restart, so uplinks published before the controller resubscribes
    # would be lost). Set a group name to spread ingest over workers on a broker that does (EMQX).
    mqtt_share_group: str = ""
    mqtt_keepalive_s: int = 30
    # Uplinks are acknowledged only once stored; this many may wait unacknowledged (MQTT 5 Receive
    # Maximum in our CONNECT, at most 65,535). It must cover ingest rate x store latency (~1 s flush).
    mqtt_receive_maximum: int = Field(default=20_000, ge=1, le=65_535)
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
    # What the TSDB keeps (VictoriaMetrics -retentionPeriod, devstack: 1y) and how far ahead of its clock
    # it accepts samples (VictoriaMetrics: 2 days). Points outside are refused before writing and
    # counted in points_rejected{reason}: the TSDB would drop them silently (tsdb/screen.py).
    tsdb_retention_s: float = 365 * 86400.0
    tsdb_max_future_s: float = 86400.0
    tsdb_stall_after_s: float = 60.0  # points waiting and nothing stored this long → /readyz 503
    tsdb_drop_check_interval_s: float = 10.0  # read VictoriaMetrics' own drop counters this often
    # Supervised background threads (supervisor.py): delay before the first restart after a crash,
    # doubling up to the max while it keeps crashing.
    thread_restart_min_s: float = 0.5
    thread_restart_max_s: float = 30.0

    ingest_flush_interval_s: float = 1.0
    offline_after_s: float = 120.0  # no message for this long → offline even without a will
    # A sample time further than this from the receive time is kept as the receive time in presence
    # (latest_at): one device's clock must not break the registry flush for everyone.
    presence_max_clock_skew_s: float = 2 * 86400.0
    ingest_dedup_window: int = 200_000  # recent message ids remembered to drop redelivered duplicates
    # Per-device budgets (token buckets, ingest/budgets.py). The bursts hold an agent's whole
    # store-and-forward outbox (50,000 messages / 64 MiB) arriving at once after days offline; the
    # rates are far above an honest agent's steady traffic (one sample per 30 s, events, results).
    # A device over budget is quarantined: its messages are dropped (acknowledged, counted).
    ingest_device_messages_per_s: float = 20.0
    ingest_device_message_burst: int = 60_000  # messages
    ingest_device_bytes_per_s: float = 256 * 1024.0
    ingest_device_byte_burst: int = 80 * 1024 * 1024  # bytes
    ingest_quarantine_s: float = 300.0
    # A redelivered copy waits this long for its first copy to be stored, then is stored itself.
    ingest_redelivery_wait_s: float = 60.0

    command_timeout_s: float = 30.0
    command_expiry_s: float = 3600.0
    # A command row committed but still ``queued`` this long after it was created was lost between
    # commit and publish (crash); the outbox sweep (ingest housekeeping) publishes it again.
    command_outbox_grace_s: float = Field(default=5.0, gt=0)
    # Test hook only: "kill" makes the process SIGKILL itself right after a command row is committed
    # and before it is published (tests/e2e/test_command_outbox.py). Empty in every real deployment.
    fault_after_command_commit: str = Field(default="", pattern="^(|kill)$")
    enrollment_token_ttl_s: float = 14 * 24 * 3600.0
    staff_session_ttl_s: float = 12 * 3600.0
    # Failed staff logins per (account, source), and failed enrollments per source, before a delay
    # starts; each further failure doubles it (auth_backoff_*). Never per account or serial alone,
    # so nobody can lock the holder out (api/ratelimit.py, auth/limits.py).
    login_attempts_per_minute: int = 10
    login_failures_per_source: int = 100  # over all accounts (password spraying from one source)
    auth_backoff_base_s: float = 5.0
    auth_backoff_max_s: float = 900.0
    auth_failure_memory_s: float = 3600.0  # a key's failures are forgotten this long after the last

    # Captive portal (portal/). Defaults apply where no portal policy sets a value.
    portal_url: str = ""  # what routers redirect phones to; empty → {public_url}/portal/
    portal_walled_garden: list[str] = []  # the portal host's addresses (CIDR), pushed to every router
    portal_splash_max_age_s: float = 600.0  # a splash redirect older than this is refused
    portal_login_ttl_s: float = 600.0  # a pending login (token) is valid this long, once
    portal_roaming_region_depth: int = 3  # sessions roam between stations sharing this many path parts
    portal_session_s: int = 8 * 3600
    portal_idle_timeout_s: int = 900
    # WiFiDog counters growth (up + down bytes) per report that is the gateway's own ICMP probe of the
    # client, not use: at most this much since the previous report does not reset the idle timer.
    portal_wifidog_probe_bytes: int = 1024
    portal_up_kbps: int = 2048
    portal_down_kbps: int = 8192
    portal_daily_quota_bytes: int = 0  # 0 = no daily quota
    portal_devices_per_phone: int = 3
    portal_terms_version: str = "2024-01"
    portal_retention_days: int = 60  # login records kept for compliance, then purged
    portal_sms_provider: str = "log"  # log → {data_dir}/sms-outbox.jsonl; http → portal_sms_http_url
    portal_sms_http_url: str = ""  # template with {phone} and {code} (URL-encoded on substitution)
    portal_sms_http_secret: SecretStr = SecretStr("")
    portal_sms_http_timeout_s: float = 5.0
    portal_sms_code_ttl_s: float = 300.0
    portal_sms_max_attempts: int = 3
    portal_sms_cooldown_s: float = 60.0
    portal_sms_per_phone_per_day: int = 5
    portal_sms_per_ip_per_day: int = 200  # request source (a station's NAT address) per day
    portal_sms_per_mac_per_day: int = 5
    portal_sms_per_station_per_day: int = 300
    portal_voucher_failures_per_minute: int = 10  # wrong voucher codes per client before a pause

    # --- Content bundles (issue 4; docs/content.md) ---
    content_dir: Path | None = None  # empty → {data_dir}/content (store/ served at /content/, keys/)
    content_key_passphrase: SecretStr = SecretStr("")  # encrypts signing keys at rest when set
    content_origin_rate_kbit: int = 0  # initial cap on all /content/ bytes served; 0 = unlimited
    content_keep_versions: int = 3  # versions kept per bundle; older ones are retired
    content_gc_grace_s: float = 86400.0  # unreferenced chunks younger than this survive GC (uploads)

    # Provisioning jobs, Ansible bootstrap, secrets (provisioning/, docs/provisioning.md).
    provisioning_workers: int = 8  # device runs at once in this controller process (all jobs)
    provisioning_concurrency: int = 8  # a job's default limit of devices run at once
    provisioning_max_concurrency: int = 64
    provisioning_idle_poll_s: float = 1.0  # the runner looks for queued devices this often when idle
    provisioning_secrets_key: SecretStr = SecretStr("")  # Fernet key; empty → derived from secret_key
    provisioning_secrets_old_keys: list[SecretStr] = []  # still decrypt (key rotation)
    provisioning_playbook_dir: Path | None = None  # None → the project's playbooks/
    provisioning_artifacts_dir: Path | None = None  # None → {data_dir}/artifacts (agent bundle)
    provisioning_ansible_timeout_s: float = 900.0  # one playbook run on one device
    provisioning_enroll_wait_s: float = 120.0  # bootstrap: wait this long for enrollment + telemetry

    # --- Legacy routers over SSH, versioned configs (provisioning/legacy, provisioning/configs) ---
    legacy_ssh_connect_timeout_s: float = 10.0  # TCP connect + SSH handshake + authentication
    legacy_ssh_read_timeout_s: float = 30.0  # one command's answer (a save on a slow router takes a while)
    config_backups_keep: int = 50  # backups kept per router; older ones are deleted (import baselines stay)

    # --- Campaigns: rollout scheduler (issue 4; campaigns/) ---
    campaign_scheduler_enabled: bool = True  # run the scheduler loop in this process (needs ingest)
    campaign_step_s: float = 5.0  # one scheduler step (starts, retries, thresholds) this often
    campaign_membership_interval_s: float = 60.0  # look for newly enrolled target devices this often
    campaign_starts_per_step: int = 200  # device starts (or cancels) per campaign per step
    campaign_broker_retry_s: float = 60.0  # a start that could not be published is retried after this

    # --- Firmware: releases, device updates, stuck detection (issue 10; firmware/, docs/firmware.md) ---
    firmware_stuck_sweep_s: float = 60.0  # look for devices stuck in an update state this often
    # seconds a device may stay in a state before it is marked stuck, per state (merged over the defaults
    # downloading 21600, installing 1800, restarting 900, health_check 1800; queued never expires)
    firmware_stuck_after_s: dict[str, float] = {}

    # --- Alerts: vmalert + Alertmanager, the controller's webhook and relays (issue 11; alerts/) ---
    alerts_alertmanager_url: str = "http://127.0.0.1:9093"  # its API v2 (silences) and what make run starts
    alerts_vmalert_url: str = "http://127.0.0.1:8880"  # what make run starts (its UI lists rule states)
    alerts_webhook_token: SecretStr = SecretStr("")  # Alertmanager's bearer token; empty → webhooks refused
    alerts_webhook_max_bytes: int = 256 * 1024  # a larger webhook body is refused (413)
    alerts_generic_webhook_urls: list[str] = []  # Alertmanager posts its own JSON here directly
    # DingTalk group robot (https://oapi.dingtalk.com/robot/send?access_token=…)
    alerts_dingtalk_url: str = ""
    alerts_dingtalk_secret: SecretStr = SecretStr("")  # the robot's 加签 secret (SEC…); empty → unsigned
    alerts_wecom_url: str = ""  # WeCom group robot (https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…)
    alerts_sms_phones: list[str] = []  # critical alerts go to these numbers through the portal's SMS sender
    alerts_notify_timeout_s: float = 5.0  # one relay post to a robot / one Alertmanager API call
    alerts_eval_interval_s: float = 60.0  # vmalert evaluates every rule group this often
    alerts_offline_after_s: float = 300.0  # DeviceOffline / PortalRouterUnreachable: telemetry silence
    alerts_offline_for_s: float = 120.0  # ... held this long before firing (tolerance = both added)
    alerts_group_wait_s: float = 30.0  # Alertmanager waits this long to batch a new group's alerts
    alerts_group_interval_s: float = 300.0  # then sends a group's changes at most this often
    alerts_repeat_interval_s: float = 4 * 3600.0  # a still-firing group is re-sent after this

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxy_addresses(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item, strict=False)  # ValueError names the bad entry
        return value

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
        if not self.portal_url:
            self.portal_url = self.public_url.rstrip("/") + "/portal/"
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings; fails fast with pydantic's message naming each bad variable."""
    return Settings()  # type: ignore[call-arg]
