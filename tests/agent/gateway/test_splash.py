"""splash: a real server on loopback; identity from the socket + neighbour table, never from the client."""

from __future__ import annotations

import http.client
import json
import logging
from typing import Dict, Iterator, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

import pytest

from station_agent.gateway.gateway import Gateway
from station_agent.gateway.sessions import Session
from station_agent.gateway.signing import sign
from station_agent.gateway.splash import SplashServer

from .conftest import DEVICE, KEY
from .fakes import FakeClock, FakeNeighbours

MAC = "02:aa:bb:cc:dd:01"
Answer = Tuple[int, Dict[str, str], bytes]


@pytest.fixture
def neighbours() -> FakeNeighbours:
    return FakeNeighbours({"127.0.0.1": MAC})


@pytest.fixture
def splash(gateway: Gateway, neighbours: FakeNeighbours) -> Iterator[SplashServer]:
    server = SplashServer("127.0.0.1", 0, backend=gateway, neighbours=neighbours)
    server.start()
    yield server
    server.stop()


def get(
    server: SplashServer, path: str, headers: Optional[Dict[str, str]] = None, method: str = "GET"
) -> Answer:
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    conn.request(method, path, headers=headers or {})
    reply = conn.getresponse()
    body = reply.read()
    conn.close()
    return reply.status, {k.lower(): v for k, v in reply.getheaders()}, body


def login(gateway: Gateway, clock: FakeClock, quota: int = 0) -> None:
    # Written straight to the store: portal.allow refuses loopback, the only address a unit test has.
    session = Session("s-1", MAC, "127.0.0.1", expires_at=clock() + 90_000, idle_timeout_s=0, up_kbps=0,
                      down_kbps=0, quota_bytes=quota, class_id=16)  # fmt: skip
    gateway.sessions.put(session)


def test_unauthenticated_request_gets_signed_redirect(splash: SplashServer, clock: FakeClock) -> None:
    status, headers, _ = get(splash, "/news/today?x=1", {"Host": "news.example.cn", "X-Client-MAC": "02:ff"})
    assert status == 302
    location = urlsplit(headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == "http://portal.example.cn/portal/"
    q = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert q["gw"] == DEVICE
    assert (q["mac"], q["ip"], q["ts"]) == (MAC, "127.0.0.1", str(clock()))  # MAC from the neighbour table
    assert q["url"] == "http://news.example.cn/news/today?x=1"
    assert q["sig"] == sign(KEY, gw=DEVICE, mac=MAC, ip="127.0.0.1", ts=clock(), url=q["url"])
    assert headers["cache-control"] == "no-store"


def test_probe_urls_redirect_until_login_then_answer_online(
    splash: SplashServer, gateway: Gateway, clock: FakeClock
) -> None:
    assert get(splash, "/generate_204", {"Host": "connect.rom.miui.com"})[0] == 302
    login(gateway, clock)
    assert get(splash, "/generate_204")[:1] == (204,)
    assert (
        get(splash, "/hotspot-detect.html")[2]
        == b"<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>"
    )
    assert get(splash, "/connecttest.txt")[2] == b"Microsoft Connect Test"
    assert get(splash, "/success.txt")[2] == b"success\n"
    assert get(splash, "/success.txt", method="HEAD")[2] == b""


def test_same_ip_with_other_mac_is_not_authenticated(
    splash: SplashServer, gateway: Gateway, clock: FakeClock, neighbours: FakeNeighbours
) -> None:
    login(gateway, clock)
    neighbours.table["127.0.0.1"] = "02:aa:bb:cc:dd:99"  # another device took the IP
    assert get(splash, "/generate_204")[0] == 302


def test_unknown_neighbour_gets_retry(splash: SplashServer, neighbours: FakeNeighbours) -> None:
    neighbours.table.clear()
    status, headers, _ = get(splash, "/")
    assert status == 503
    assert headers["retry-after"] == "2"


def test_rfc8908_api(splash: SplashServer, gateway: Gateway, clock: FakeClock) -> None:
    status, headers, body = get(splash, "/captive-portal/api", {"Accept": "application/captive+json"})
    assert status == 200
    assert headers["content-type"] == "application/captive+json"
    captive = json.loads(body)
    assert captive["captive"] is True
    assert captive["user-portal-url"].startswith("http://portal.example.cn/portal/?gw=")
    login(gateway, clock, quota=5000)
    online = json.loads(get(splash, "/captive-portal/api")[2])
    assert online["captive"] is False
    assert (online["seconds-remaining"], online["bytes-remaining"], online["can-extend-session"]) == (
        90,
        5000,
        True,
    )


@pytest.mark.parametrize("error", [BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "reset")])
def test_client_hanging_up_is_a_quiet_debug_line(
    splash: SplashServer, error: OSError, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="station_agent.gateway.splash")
    try:
        raise error
    except OSError:
        splash.handle_error(None, ("10.77.1.2", 40000))  # what socketserver calls from the except block
    assert capsys.readouterr().err == ""  # the base class printed a traceback here
    (record,) = caplog.records
    assert (record.levelno, record.exc_info) == (logging.DEBUG, None)
    assert "went away" in record.getMessage()


def test_other_request_errors_are_logged_with_their_stack(
    splash: SplashServer, caplog: pytest.LogCaptureFixture
) -> None:
    try:
        raise ValueError("bug")
    except ValueError:
        splash.handle_error(None, ("10.77.1.2", 40000))
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ValueError)
