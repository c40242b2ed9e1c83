"""sessions: persisted in state.db, rebuilt into nft and tc after a restart; schema migration v1 → v2."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from station_agent.gateway.sessions import SessionStore
from station_agent.gateway.validate import parse_allow
from station_agent.outbox import Outbox
from station_agent.state import SCHEMA_VERSION, StateStore

from .conftest import make_gateway, portal_config
from .fakes import FakeClock, FakeNft, FakeTc

MAC, IP = "02:aa:bb:cc:dd:01", "10.77.1.2"


def test_sessions_survive_reopen_and_are_rebuilt(state_path: Path, clock: FakeClock) -> None:
    store = StateStore.open(state_path)
    nft, tc = FakeNft(), FakeTc()
    gw = make_gateway(store, Outbox(store, max_messages=100, max_bytes=1 << 20), nft, tc, clock)
    gw.apply_config(portal_config())
    args = {"session_id": "s-1", "mac": MAC, "ip": IP, "expires_at": clock() + 10**6, "idle_timeout_s": 60,
            "up_kbps": 512, "down_kbps": 4096, "quota_bytes": 10**9}  # fmt: skip
    gw.allow(parse_allow(args))
    nft.up[(MAC, IP)], nft.down[IP] = 111, 222
    gw.enforce()
    store.close()

    reopened = StateStore.open(state_path)  # "router reboot": empty kernel state
    nft2, tc2 = FakeNft(), FakeTc()
    gw2 = make_gateway(reopened, Outbox(reopened, max_messages=100, max_bytes=1 << 20), nft2, tc2, clock)
    gw2.apply_config(portal_config())
    assert nft2.up == {(MAC, IP): 0}
    assert tc2.client_classes() == {("br-lan", "1:10"): "4096kbit", ("sfifb0", "1:10"): "512kbit"}
    (session,) = SessionStore(reopened).all()
    assert (session.bytes_up, session.bytes_down, session.quota_bytes) == (111, 222, 10**9)
    nft2.up[(MAC, IP)] = 9
    assert gw2.list_sessions()[0]["bytes_up"] == 120
    reopened.close()


def test_v1_state_file_is_migrated(state_path: Path) -> None:
    state_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(str(state_path))
    conn.executescript("CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL); PRAGMA user_version=1;")
    conn.execute("INSERT INTO kv VALUES ('applied_config', '{\"version\": 3, \"config\": {}}')")
    conn.commit()
    conn.close()
    store = StateStore.open(state_path)
    assert store.query("PRAGMA user_version")[0][0] == SCHEMA_VERSION == 2
    assert store.get_json("applied_config") == {"version": 3, "config": {}}
    assert SessionStore(store).all() == []
    store.close()


def test_class_ids_are_reused(store: StateStore, outbox: Outbox, clock: FakeClock) -> None:
    gw = make_gateway(store, outbox, FakeNft(), FakeTc(), clock)
    gw.apply_config(portal_config())
    for n in (1, 2):
        gw.allow(parse_allow({"session_id": f"s-{n}", "mac": f"02:00:00:00:00:0{n}", "ip": f"10.77.1.{n + 1}",
                              "expires_at": clock() + 10**6, "idle_timeout_s": 0, "up_kbps": 1,
                              "down_kbps": 1, "quota_bytes": 0}))  # fmt: skip
    gw.revoke("s-1", "02:00:00:00:00:01", "test")
    assert SessionStore(store).free_class_id() == 0x10
