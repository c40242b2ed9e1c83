"""First start: trade the one-time token for device credentials, kept in ``state_dir/credentials.json``."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from station_protocol import ProtocolError
from station_protocol.enrollment import ENROLL_PATH, EnrollRequest, EnrollResponse

from . import AGENT_VERSION
from .backoff import backoff_delay
from .config import AgentConfig, EnrollmentSettings
from .errors import ConfigError, EnrollmentError, RetryableError

log = logging.getLogger(__name__)

CREDENTIALS_FILE = "credentials.json"


@dataclass(frozen=True)
class Identity:
    """Who this agent is and how it reaches the broker, after merging config and stored credentials."""

    device_id: str
    role: str
    mqtt_host: str
    mqtt_port: int
    mqtt_username: str
    mqtt_password: str
    mqtt_tls: bool
    controller_url: str


def credentials_path(state_dir: Path) -> Path:
    return state_dir / CREDENTIALS_FILE


def load_credentials(state_dir: Path) -> Optional[EnrollResponse]:
    """Stored credentials, or None when this device never enrolled.

    Raises:
        ConfigError: the file exists but is unreadable or corrupt (delete it and re-enroll with a new token).
    """
    path = credentials_path(state_dir)
    if not path.exists():
        return None
    try:
        return EnrollResponse.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{path} is unreadable ({exc}); delete it and enroll again with a new token"
        ) from None


def save_credentials(state_dir: Path, creds: EnrollResponse) -> None:
    """Write atomically with mode 0600 (it holds the broker password)."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".credentials-", dir=str(state_dir))
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(creds.to_dict(), fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, credentials_path(state_dir))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def request_once(settings: EnrollmentSettings, request: EnrollRequest) -> EnrollResponse:
    """One POST to the controller.

    Raises:
        EnrollmentError: 4xx, or a 2xx body that is not an EnrollResponse.
        RetryableError: 5xx or a network failure.
    """
    url = settings.controller_url.rstrip("/") + ENROLL_PATH
    body = json.dumps(request.to_dict()).encode()
    req = urllib.request.Request(  # noqa: S310 - http(s) is checked in config.validate
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=settings.timeout_s) as resp:  # noqa: S310 - http(s) checked in config
            raw = resp.read()
    except urllib.error.HTTPError as exc:
        message = _server_message(exc)
        if 400 <= exc.code < 500:
            raise EnrollmentError(
                f"controller refused enrollment ({exc.code}): {message}; ask for a new token"
            ) from None
        raise RetryableError(f"controller error {exc.code}: {message}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise RetryableError(f"cannot reach {url}: {exc}") from None
    try:
        return EnrollResponse.from_dict(json.loads(raw))
    except (ValueError, ProtocolError) as exc:
        raise EnrollmentError(f"controller answered with an invalid enrollment response: {exc}") from None


def _server_message(exc: urllib.error.HTTPError) -> str:
    try:
        text = exc.read().decode("utf-8", errors="replace")[:500]
    except OSError:
        return str(exc.reason)
    try:
        data = json.loads(text)
    except ValueError:
        return text or str(exc.reason)
    if isinstance(data, dict):
        return str(data.get("detail") or data.get("error") or data.get("message") or text)
    return text


def enroll(
    settings: EnrollmentSettings, *, serial: str, stop: threading.Event, max_attempts: Optional[int] = None
) -> EnrollResponse:
    """Retry ``request_once`` with jittered backoff until it succeeds, fails permanently or ``stop`` is set.

    Raises:
        EnrollmentError: refused by the controller.
        RetryableError: stopped, or ``max_attempts`` used up.
    """
    request = EnrollRequest(serial=serial, token=settings.token, agent_version=AGENT_VERSION)
    attempt = 0
    while True:
        try:
            return request_once(settings, request)
        except RetryableError as exc:
            attempt += 1
            if max_attempts is not None and attempt >= max_attempts:
                raise
            delay = backoff_delay(attempt - 1, settings.retry_min_s, settings.retry_max_s)
            log.warning("%s: enrollment failed (%s); retrying in %.1fs", serial, exc, delay)
            if stop.wait(delay):
                raise RetryableError("stopped before enrollment finished") from None


def resolve_identity(cfg: AgentConfig, *, stop: threading.Event) -> Identity:
    """Use stored credentials, enroll when there are none and enrollment is configured, else the config.

    Raises:
        ConfigError, EnrollmentError, RetryableError.
    """
    creds = load_credentials(cfg.state_dir)
    if creds is None and cfg.enrollment.configured:
        serial = cfg.enrollment.serial or cfg.device.serial
        creds = enroll(cfg.enrollment, serial=serial, stop=stop)
        save_credentials(cfg.state_dir, creds)
        log.info("%s: enrolled with serial %s", creds.device_id, serial)
    return _merge(cfg, creds)


def _merge(cfg: AgentConfig, creds: Optional[EnrollResponse]) -> Identity:
    mqtt = cfg.mqtt
    if creds is None:
        return Identity(
            device_id=cfg.device.id,
            role=cfg.device.role,
            mqtt_host=mqtt.host,
            mqtt_port=mqtt.port or (8883 if mqtt.tls else 1883),
            mqtt_username=mqtt.username or cfg.device.id,
            mqtt_password=mqtt.password,
            mqtt_tls=mqtt.tls,
            controller_url=cfg.enrollment.controller_url,
        )
    tls = mqtt.tls or creds.mqtt_tls
    return Identity(
        device_id=creds.device_id,
        role=cfg.device.role,
        mqtt_host=mqtt.host or creds.mqtt_host,
        mqtt_port=mqtt.port or creds.mqtt_port or (8883 if tls else 1883),
        mqtt_username=creds.mqtt_username,
        mqtt_password=creds.mqtt_password,
        mqtt_tls=tls,
        controller_url=creds.controller_url or cfg.enrollment.controller_url,
    )
