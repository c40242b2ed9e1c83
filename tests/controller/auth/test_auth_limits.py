"""Staff login limits: per (account, source) with a growing delay, never a lockout of the account."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from station_controller.api.ratelimit import BackoffLimiter
from station_controller.auth.limits import LoginThrottle
from station_controller.errors import RateLimited
from tests.controller.api.core_fixtures import PASSWORD, Api, make_settings
from tests.fakes.clock import SecondsClock

LOGIN = "/api/v1/auth/login"
WRONG = "not the password at all"


def _source(api: Api, address: str) -> TestClient:
    """A client of the same app whose requests come from ``address``."""
    return TestClient(api.client.app, client=(address, 40000))


def test_correct_staff_password_accepted_after_another_sources_failures(api: Api) -> None:
    api.user("admin", "wang")
    attacker = _source(api, "198.51.100.7")
    for _ in range(api.settings.login_attempts_per_minute * 3):
        assert attacker.post(LOGIN, json={"username": "wang", "password": WRONG}).status_code in {401, 429}
    assert attacker.post(LOGIN, json={"username": "wang", "password": PASSWORD}).status_code == 429

    office = _source(api, "192.0.2.10")
    reply = office.post(LOGIN, json={"username": "wang", "password": PASSWORD})

    assert reply.status_code == 200, reply.text
    assert reply.json()["user"]["username"] == "wang"


def test_failures_from_one_source_get_a_retry_after_not_extended_by_unheard_attempts(api: Api) -> None:
    api.user("viewer", "li")
    source = _source(api, "203.0.113.8")
    for _ in range(api.settings.login_attempts_per_minute):
        assert source.post(LOGIN, json={"username": "li", "password": WRONG}).status_code == 401
    waits = []
    for _ in range(3):
        blocked = source.post(LOGIN, json={"username": "li", "password": WRONG})
        assert blocked.status_code == 429
        assert blocked.json()["retryable"] is True
        waits.append(int(blocked.headers["retry-after"]))
    assert waits[0] >= api.settings.auth_backoff_base_s - 1
    # A delayed attempt is refused unheard, so it is no failure and does not extend the delay; the
    # delay doubles with each failure after it (test_delay_doubles_up_to_the_cap_then_expires).
    assert waits == sorted(waits, reverse=True)
    # Other accounts from that source are not delayed by this pair (below the per-source budget).
    api.user("viewer", "zhao")
    assert source.post(LOGIN, json={"username": "zhao", "password": PASSWORD}).status_code == 200


def _throttle(clock: SecondsClock, *, per_pair: int = 3, per_source: int = 10) -> LoginThrottle:
    def limiter(free: int) -> BackoffLimiter:
        return BackoffLimiter(free=free, base_s=5, max_s=60, memory_s=600, clock=clock)

    return LoginThrottle(per_account_source=limiter(per_pair), per_source=limiter(per_source))


def test_delay_doubles_up_to_the_cap_then_expires() -> None:
    clock = SecondsClock()
    throttle = _throttle(clock)
    for _ in range(3):
        throttle.check("wang", "10.0.0.1")
        throttle.failed("wang", "10.0.0.1")
    waits = []
    for _ in range(6):
        with pytest.raises(RateLimited) as blocked:
            throttle.check("wang", "10.0.0.1")
        waits.append(blocked.value.retry_after_s)
        clock.now += blocked.value.retry_after_s  # wait it out, then fail again
        throttle.check("wang", "10.0.0.1")
        throttle.failed("wang", "10.0.0.1")
    assert waits == [5, 10, 20, 40, 60, 60]
    throttle.check("wang", "10.0.0.2")  # another source: never delayed by this one


def test_success_resets_the_pair_and_failures_are_forgotten() -> None:
    clock = SecondsClock()
    throttle = _throttle(clock)
    for _ in range(2):
        throttle.failed("wang", "10.0.0.1")
    throttle.succeeded("wang", "10.0.0.1")
    for _ in range(2):
        throttle.failed("wang", "10.0.0.1")
    throttle.check("wang", "10.0.0.1")  # 2 + 2 failures, but the success in between reset them
    throttle.failed("wang", "10.0.0.1")
    with pytest.raises(RateLimited):
        throttle.check("wang", "10.0.0.1")
    clock.now += 600
    throttle.check("wang", "10.0.0.1")
    throttle.failed("wang", "10.0.0.1")
    throttle.check("wang", "10.0.0.1")  # the old failures were forgotten: this is the first again


def test_one_source_spraying_many_accounts_is_delayed_as_a_whole() -> None:
    clock = SecondsClock()
    throttle = _throttle(clock, per_pair=3, per_source=10)
    for n in range(10):
        throttle.failed(f"user-{n}", "10.0.0.9")
    with pytest.raises(RateLimited):
        throttle.check("user-99", "10.0.0.9")
    throttle.check("user-99", "10.0.0.10")


def test_backoff_limiter_stays_bounded_in_keys() -> None:
    clock = SecondsClock()
    limiter = BackoffLimiter(free=1, base_s=5, max_s=60, memory_s=600, max_keys=10, clock=clock)
    for n in range(100):
        limiter.failed(f"ip:{n}")
    assert len(limiter._keys) <= 10  # noqa: SLF001 - the bound is the point of this test


def test_settings_refuse_a_proxy_list_that_is_not_addresses(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="forwarded_allow_ips"):
        make_settings(tmp_path, "sqlite://", forwarded_allow_ips=["*"])
    assert make_settings(tmp_path, "sqlite://", forwarded_allow_ips=["10.0.0.0/8", "::1"])


def test_console_login_from_another_source_is_accepted_and_a_delayed_one_told_when(api: Api) -> None:
    api.user("operator", "ops")
    attacker, office = _source(api, "198.51.100.20"), _source(api, "192.0.2.20")

    def console_login(client: TestClient, password: str) -> int:
        page = client.get("/console/login")
        token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        form = {"csrf": token, "username": "ops", "password": password, "next": "/console/"}
        reply = client.post("/console/login", data=form, follow_redirects=False)
        if reply.status_code == 429:
            assert int(reply.headers["retry-after"]) >= 1
        return reply.status_code

    for _ in range(api.settings.login_attempts_per_minute):
        assert console_login(attacker, WRONG) == 401
    assert console_login(attacker, PASSWORD) == 429
    assert console_login(office, PASSWORD) == 303
