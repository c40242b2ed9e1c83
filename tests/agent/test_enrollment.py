"""Enrollment against a tiny local HTTP server: success, refusal, retry, 429 + Retry-After, credentials."""

from __future__ import annotations

import json
import logging
import socket
import stat
import threading
from dataclasses import replace
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from station_agent.config import AgentConfig, DeviceSettings, EnrollmentSettings, MqttSettings
from station_agent.enrollment import (
    credentials_path,
    enroll,
    load_credentials,
    resolve_identity,
    save_credentials,
)
from station_agent.errors import ConfigError, EnrollmentError, RetryableError
from station_protocol.enrollment import EnrollResponse

ENROLLED = EnrollResponse(
    device_id="stb-0042",
    role="stb",
    mqtt_host="127.0.0.1",
    mqtt_port=1883,
    mqtt_username="stb-0042",
    mqtt_password="p" * 24,
    controller_url="http://controller.example",
)


class FakeController:
    """Answers POST /api/v1/enroll with the queued (status, body[, headers]) answers; records requests."""

    def __init__(self) -> None:
        self.answers: List[Tuple[Any, ...]] = []
        self.requests: List[Tuple[str, Dict[str, Any]]] = []
        controller = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                controller.requests.append((self.path, body))
                status, answer, *extra = (
                    controller.answers.pop(0) if controller.answers else (500, {"detail": "empty"})
                )
                data = json.dumps(answer).encode()
                self.send_response(status)
                for name, value in (extra[0] if extra else {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def controller() -> Iterator[FakeController]:
    fake = FakeController()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()
    thread.join(5)


def settings(url: str) -> EnrollmentSettings:
    return EnrollmentSettings(
        controller_url=url, token="tok-123", serial="SN-42", retry_min_s=0.01, retry_max_s=0.05
    )


def agent_config(tmp_path: Path, url: str) -> AgentConfig:
    return AgentConfig(
        device=DeviceSettings(role="stb"),
        mqtt=MqttSettings(),
        enrollment=settings(url),
        state_dir=tmp_path / "state",
    )


def test_enrollment_saves_private_credentials_and_they_override_the_config(
    tmp_path: Path, controller: FakeController
) -> None:
    controller.answers.append((201, ENROLLED.to_dict()))
    cfg = agent_config(tmp_path, controller.url)
    identity = resolve_identity(cfg, stop=threading.Event())

    path, sent = controller.requests[0]
    assert path == "/api/v1/enroll"
    assert (sent["serial"], sent["token"]) == ("SN-42", "tok-123")
    assert sent["agent_version"]
    assert (identity.device_id, identity.mqtt_username, identity.mqtt_password) == (
        "stb-0042",
        "stb-0042",
        "p" * 24,
    )
    assert (identity.mqtt_host, identity.mqtt_port, identity.controller_url) == (
        "127.0.0.1",
        1883,
        "http://controller.example",
    )
    mode = stat.S_IMODE(credentials_path(cfg.state_dir).stat().st_mode)
    assert mode == 0o600
    assert load_credentials(cfg.state_dir) == ENROLLED

    again = resolve_identity(cfg, stop=threading.Event())  # stored: no second request
    assert again == identity
    assert len(controller.requests) == 1


def test_configured_broker_host_wins_over_the_enrolled_one(tmp_path: Path) -> None:
    cfg = agent_config(tmp_path, "http://127.0.0.1:9")
    save_credentials(cfg.state_dir, ENROLLED)
    cfg = replace(cfg, mqtt=MqttSettings(host="10.1.1.1", port=8883, username="ignored", password="ignored"))
    identity = resolve_identity(cfg, stop=threading.Event())
    assert (identity.mqtt_host, identity.mqtt_port, identity.mqtt_username) == ("10.1.1.1", 8883, "stb-0042")


def test_refusal_is_permanent_and_carries_the_server_message(controller: FakeController) -> None:
    controller.answers.append((403, {"detail": "token already used"}))
    with pytest.raises(EnrollmentError, match="403.*token already used"):
        enroll(settings(controller.url), serial="SN-42", stop=threading.Event())
    assert len(controller.requests) == 1


def test_server_errors_are_retried_until_success(controller: FakeController) -> None:
    controller.answers += [(503, {"detail": "busy"}), (500, {}), (200, ENROLLED.to_dict())]
    assert enroll(settings(controller.url), serial="SN-42", stop=threading.Event()) == ENROLLED
    assert len(controller.requests) == 3


def test_unreachable_controller_is_retryable(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens there
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(RetryableError, match="cannot reach"):
        enroll(settings(url), serial="SN-42", stop=threading.Event(), max_attempts=2)


def test_invalid_success_body_is_an_enrollment_error(controller: FakeController) -> None:
    controller.answers.append((200, {"device_id": "x"}))
    with pytest.raises(EnrollmentError, match="invalid enrollment response"):
        enroll(settings(controller.url), serial="SN-42", stop=threading.Event())


def test_corrupt_credentials_file_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "credentials.json").write_text("{", encoding="utf-8")
    with pytest.raises(ConfigError, match="delete it and enroll again"):
        load_credentials(tmp_path)


class Sleeper:
    """The injected wait: records each requested delay instead of sleeping; ``stop_after`` ends the loop."""

    def __init__(self, stop_after: Optional[int] = None) -> None:
        self.delays: List[float] = []
        self.stop_after = stop_after

    def __call__(self, seconds: float) -> bool:
        self.delays.append(seconds)
        return self.stop_after is not None and len(self.delays) >= self.stop_after


RATE_LIMITED = {"error": "rate_limited", "detail": "too many failed attempts", "retryable": True}
CLOCK = 1_800_000_000.0  # the injected "now" (epoch seconds) that Retry-After dates are measured from


def test_429_is_retried_after_retry_after_seconds_and_date_until_enrolled(
    controller: FakeController, caplog: pytest.LogCaptureFixture
) -> None:
    controller.answers += [
        (429, RATE_LIMITED, {"Retry-After": "7"}),
        (429, RATE_LIMITED, {"Retry-After": formatdate(CLOCK + 40, usegmt=True)}),
        (201, ENROLLED.to_dict()),
    ]
    sleeper = Sleeper()
    with caplog.at_level(logging.WARNING, logger="station_agent.enrollment"):
        got = enroll(
            settings(controller.url),
            serial="SN-42",
            stop=threading.Event(),
            wait=sleeper,
            clock=lambda: CLOCK,
        )
    assert got == ENROLLED
    assert len(controller.requests) == 3
    first, second = sleeper.delays
    # at least what the server asked for, plus at most retry_min_s (0.01 s) of jitter
    assert 7.0 <= first <= 7.01
    assert 40.0 <= second <= 40.01
    messages = [r.getMessage() for r in caplog.records]
    assert any("throttled" in m and "429" in m and "Retry-After 7s" in m for m in messages), messages
    assert any("Retry-After 40s" in m for m in messages), messages


def test_429_never_gives_up_and_a_huge_retry_after_is_capped(controller: FakeController) -> None:
    controller.answers += [(429, RATE_LIMITED, {"Retry-After": "999999"})] * 6
    capped = replace(settings(controller.url), retry_after_max_s=120.0)
    sleeper = Sleeper(stop_after=6)
    with pytest.raises(RetryableError, match="stopped before enrollment finished"):
        enroll(capped, serial="SN-42", stop=threading.Event(), wait=sleeper, clock=lambda: CLOCK)
    assert len(controller.requests) == 6  # still asking after six refusals: only the stop ends it
    assert sleeper.delays == [120.0] * 6


def test_429_without_retry_after_backs_off_exponentially(controller: FakeController) -> None:
    controller.answers += [(429, RATE_LIMITED)] * 4 + [(200, ENROLLED.to_dict())]
    slow = replace(settings(controller.url), retry_min_s=1.0, retry_max_s=300.0)
    sleeper = Sleeper()
    assert enroll(slow, serial="SN-42", stop=threading.Event(), wait=sleeper, clock=lambda: CLOCK) == ENROLLED
    ceilings = [1.0, 2.0, 4.0, 8.0]  # full jitter within [retry_min_s, min * 2**attempt]
    assert all(1.0 <= d <= c for d, c in zip(sleeper.delays, ceilings)), sleeper.delays
    assert len(sleeper.delays) == 4


@pytest.mark.parametrize("status", [400, 401, 403, 410, 422])
def test_definitive_refusals_are_permanent(controller: FakeController, status: int) -> None:
    controller.answers.append((status, {"error": "x", "detail": "token invalid or used", "retryable": False}))
    sleeper = Sleeper()
    with pytest.raises(EnrollmentError, match=f"{status}.*token invalid or used.*new token"):
        enroll(settings(controller.url), serial="SN-42", stop=threading.Event(), wait=sleeper)
    assert sleeper.delays == []
    assert len(controller.requests) == 1


def test_a_4xx_the_server_marks_retryable_is_retried(controller: FakeController) -> None:
    controller.answers += [
        (409, {"error": "conflict", "detail": "busy", "retryable": True}),
        (200, ENROLLED.to_dict()),
    ]
    sleeper = Sleeper()
    assert enroll(settings(controller.url), serial="SN-42", stop=threading.Event(), wait=sleeper) == ENROLLED
    assert len(sleeper.delays) == 1
