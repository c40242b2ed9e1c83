"""First start: trade the one-time token for device credentials, kept in ``state_dir/credentials.json``.

Which answers are final: 2xx enrolls; 408, 425, 429, 5xx, a body saying ``"retryable": true`` and
network errors are retried forever (jittered exponential backoff, and at least the server's
``Retry-After``), because giving up would leave a box in a village room dead until someone visits;
any other 4xx (401 token invalid, used or expired; 403; 410; 422 malformed request) is permanent:
the token will never work, and the message says to issue a new one. ``urllib`` is imported only when
this device actually enrolls: an enrolled agent does not carry it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, Tuple

from station_protocol import ProtocolError
from station_protocol.enrollment import ENROLL_PATH, EnrollRequest, EnrollResponse

from . import AGENT_VERSION
from .config import AgentConfig, EnrollmentSettings
from .errors import ConfigError, EnrollmentError, RetryableError, Throttled
from .retry_after import parse_retry_after, retry_delay

if TYPE_CHECKING:
    import urllib.error

log = logging.getLogger(__name__)

CREDENTIALS_FILE = "credentials.json"
RETRY_STATUSES = frozenset({408, 425, 429})  # 4xx that mean "later", not "never"
Wait = Callable[[float], bool]  # sleeps up to n seconds; True when the agent is stopping


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
    import tempfile  # only here, once: an enrolled agent does not carry it (~0.3 MB)

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


def request_once(
    settings: EnrollmentSettings, request: EnrollRequest, *, clock: Callable[[], float] = time.time
) -> EnrollResponse:
    """One POST to the controller; ``clock`` (epoch seconds) turns a Retry-After date into a delay.

    Raises:
        EnrollmentError: a final 4xx, or a 2xx body that is not an EnrollResponse.
        Throttled: 429 or 503, with the server's Retry-After.
        RetryableError: another 5xx, 408/425, or a network failure.
    """
    import urllib.error
    import urllib.request

    url = settings.controller_url.rstrip("/") + ENROLL_PATH
    body = json.dumps(request.to_dict()).encode()
    req = urllib.request.Request(  # noqa: S310 - http(s) is checked in config.validate
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=settings.timeout_s) as resp:  # noqa: S310 - http(s) checked in config
            raw = resp.read()
    except urllib.error.HTTPError as exc:
        raise _refusal(exc, parse_retry_after(exc.headers.get("Retry-After"), clock())) from None
    except (urllib.error.URLError, OSError) as exc:
        raise RetryableError(f"cannot reach {url}: {exc}") from None
    try:
        return EnrollResponse.from_dict(json.loads(raw))
    except (ValueError, ProtocolError) as exc:
        raise EnrollmentError(f"controller answered with an invalid enrollment response: {exc}") from None


def _refusal(exc: urllib.error.HTTPError, retry_after_s: Optional[float]) -> Exception:
    """The error for a non-2xx answer: Throttled / RetryableError to try again, EnrollmentError if final."""
    message, retryable = _server_message(exc)
    if exc.code in (429, 503):
        return Throttled(
            f"controller answered {exc.code}: {message}", status=exc.code, retry_after_s=retry_after_s
        )
    if exc.code in RETRY_STATUSES or exc.code >= 500 or retryable:
        return RetryableError(f"controller answered {exc.code}: {message}")
    return EnrollmentError(f"controller refused enrollment ({exc.code}): {message}; ask for a new token")


def _server_message(exc: urllib.error.HTTPError) -> Tuple[str, bool]:
    """The error body's detail and its ``retryable`` flag (the controller's error format)."""
    try:
        text = exc.read().decode("utf-8", errors="replace")[:500]
    except OSError:
        return str(exc.reason), False
    try:
        data = json.loads(text)
    except ValueError:
        return text or str(exc.reason), False
    if isinstance(data, dict):
        detail = data.get("detail") or data.get("error") or data.get("message") or text
        return str(detail), data.get("retryable") is True
    return text, False


def enroll(
    settings: EnrollmentSettings,
    *,
    serial: str,
    stop: threading.Event,
    max_attempts: Optional[int] = None,
    wait: Optional[Wait] = None,
    clock: Callable[[], float] = time.time,
) -> EnrollResponse:
    """Retry ``request_once`` until it succeeds, fails permanently or ``stop`` is set (forever by default).

    ``wait`` (default ``stop.wait``) and ``clock`` are injectable so tests need not sleep.

    Raises:
        EnrollmentError: refused by the controller for good.
        RetryableError: stopped, or ``max_attempts`` used up.
    """
    request = EnrollRequest(serial=serial, token=settings.token, agent_version=AGENT_VERSION)
    sleep = wait or stop.wait
    attempt = 0
    while True:
        try:
            return request_once(settings, request, clock=clock)
        except RetryableError as exc:
            attempt += 1
            if max_attempts is not None and attempt >= max_attempts:
                raise
            if sleep(_next_delay(settings, serial, attempt, exc)):
                raise RetryableError("stopped before enrollment finished") from None


def _next_delay(settings: EnrollmentSettings, serial: str, attempt: int, exc: RetryableError) -> float:
    retry_after = exc.retry_after_s if isinstance(exc, Throttled) else None
    delay = retry_delay(
        attempt - 1,
        retry_after,
        minimum=settings.retry_min_s,
        maximum=settings.retry_max_s,
        cap_s=settings.retry_after_max_s,
    )
    if isinstance(exc, Throttled):
        asked = f"Retry-After {retry_after:.0f}s" if retry_after is not None else "no Retry-After"
        log.warning(
            "%s: enrollment throttled (%s, %s); waiting %.1fs before attempt %d",
            serial,
            exc,
            asked,
            delay,
            attempt + 1,
        )
    else:
        log.warning(
            "%s: enrollment failed (%s); retrying in %.1fs (attempt %d)", serial, exc, delay, attempt + 1
        )
    return delay


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
