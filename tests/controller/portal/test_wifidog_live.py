"""In-memory WiFiDog state: counters folded per token, committed rows applied, gateway reloads, flushes."""

from __future__ import annotations

import time

from station_controller.kernel.tokens import hash_token
from station_controller.portal.wifidog.live import LiveGateways, LiveSession, LiveSessions, Verdict
from station_controller.portal.wifidog.runtime import WifidogRuntime

GW, MAC, IP = "gw-1", "aa:bb:cc:00:00:01", "10.1.0.2"


def _session(**overrides: object) -> LiveSession:
    values: dict[str, object] = {
        "id": "s1",
        "gateway": GW,
        "mac": MAC,
        "ip": IP,
        "active": True,
        "token_used": True,
        "expires_at": time.time() + 3600,
        "quota_bytes": 0,
        "bytes_up": 0,
        "bytes_down": 0,
        "last_activity": None,
    }
    values.update(overrides)
    return LiveSession(**values)  # type: ignore[arg-type]


def _report(live: LiveSessions, *, down: int, up: int, **kwargs: str) -> Verdict:
    fields = {"token_hash": "t1", "gw_id": GW, "mac": MAC, "ip": IP, **kwargs}
    return live.counters(**fields, down=down, up=up, now=time.time())


def test_counters_are_folded_and_decided_in_memory() -> None:
    live = LiveSessions()
    assert _report(live, down=1, up=1) is Verdict.MISS
    live.apply("t1", _session())
    assert _report(live, down=500, up=100) is Verdict.ALLOW
    assert _report(live, down=400, up=50) is Verdict.ALLOW  # a lower report never lowers the counters
    assert live.take_dirty()[0] | {"last_activity_at": None} == {
        "id": "s1",
        "bytes_up": 100,
        "bytes_down": 500,
        "last_activity_at": None,
    }
    assert live.take_dirty() == []


def test_wrong_binding_ended_or_unvalidated_sessions_are_denied() -> None:
    live = LiveSessions()
    live.apply("t1", _session())
    assert _report(live, down=1, up=1, mac="aa:bb:cc:00:00:09") is Verdict.DENY
    assert _report(live, down=1, up=1, ip="10.1.0.9") is Verdict.DENY
    assert _report(live, down=1, up=1, gw_id="gw-other") is Verdict.DENY
    live.apply("t2", _session(id="s2", token_used=False))
    assert _report(live, down=1, up=1, token_hash="t2") is Verdict.DENY
    live.apply(None, _session(active=False))  # e.g. a kick committed through the API
    assert _report(live, down=1, up=1) is Verdict.DENY


def test_time_quota_and_unbound_fields_need_the_database() -> None:
    live = LiveSessions()
    live.apply("t1", _session(quota_bytes=1000))
    assert _report(live, down=600, up=300) is Verdict.ALLOW
    assert _report(live, down=700, up=300) is Verdict.SLOW
    live.apply("t2", _session(id="s2", expires_at=time.time() - 1))
    assert _report(live, down=1, up=1, token_hash="t2") is Verdict.SLOW
    live.apply("t3", _session(id="s3", ip=""))
    assert _report(live, down=1, up=1, token_hash="t3") is Verdict.SLOW


def test_committed_state_never_revives_a_session_or_lowers_counters() -> None:
    live = LiveSessions()
    live.apply("t1", _session())
    assert _report(live, down=900, up=300) is Verdict.ALLOW
    live.apply(None, _session(bytes_down=10, bytes_up=10, expires_at=time.time() + 7200))
    held = live.overlay("s1")
    assert held is not None
    assert held[:2] == (300, 900)
    live.apply(None, _session(active=False))
    live.apply(None, _session(active=True))  # an older commit applied late
    assert _report(live, down=901, up=301) is Verdict.DENY
    live.apply(None, _session(id="never-asked"))  # unknown id without a token: left to load on use
    assert live.overlay("never-asked") is None


def test_idle_sessions_are_forgotten_only_once_flushed() -> None:
    live = LiveSessions()
    live.apply("t1", _session())
    assert _report(live, down=5, up=5) is Verdict.ALLOW
    assert live.evict(idle_s=-1) == 0  # dirty: kept until written
    live.take_dirty()
    assert live.evict(idle_s=-1) == 1
    assert _report(live, down=6, up=6) is Verdict.MISS


def test_a_gateway_reload_read_before_a_change_is_discarded() -> None:
    gateways = LiveGateways()
    generation = gateways.generation()
    gateways.put(GW, ["203.0.113.0/24"])
    assert gateways.replace({}, generation=generation) is False
    assert gateways.allowed(GW, "203.0.113.7")
    assert not gateways.allowed(GW, "198.51.100.1")
    assert not gateways.allowed(GW, "not-an-ip")
    assert gateways.replace({"gw-2": ["10.0.0.1"]}, generation=gateways.generation()) is True
    assert not gateways.allowed(GW, "203.0.113.7")
    gateways.drop("gw-2")
    assert not gateways.allowed("gw-2", "10.0.0.1")


class _Repository:
    def __init__(self) -> None:
        self.fail = True
        self.written: list[list[dict[str, object]]] = []

    def write_counters(self, rows: list[dict[str, object]]) -> None:
        if self.fail:
            raise OSError("database is locked")
        self.written.append(rows)


def test_counters_survive_a_failed_flush(tmp_path: object) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    repository = _Repository()
    runtime = WifidogRuntime(sessionmaker(create_engine("sqlite://")), repository=repository)
    runtime.sessions.apply(hash_token("tok"), _session())
    assert _report_runtime(runtime, down=800, up=200) is Verdict.ALLOW
    assert runtime.flush_once() == 0
    assert _report_runtime(runtime, down=800, up=200) is Verdict.ALLOW  # still known, nothing lost
    repository.fail = False
    assert runtime.flush_once() == 1
    [[row]] = repository.written
    assert (row["id"], row["bytes_down"], row["bytes_up"]) == ("s1", 800, 200)
    runtime.stop()  # never started: stopping only flushes what is left
    assert len(repository.written) == 1


def _report_runtime(runtime: WifidogRuntime, *, down: int, up: int) -> Verdict:
    return runtime.sessions.counters(
        token_hash=hash_token("tok"), gw_id=GW, mac=MAC, ip=IP, down=down, up=up, now=time.time()
    )
