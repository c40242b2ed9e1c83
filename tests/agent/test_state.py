"""state.db: WAL mode, nested transactions roll back as one, counters, applied-id pruning."""

from __future__ import annotations

import pytest

from station_agent.state import StateStore


def test_file_is_in_wal_mode(store: StateStore) -> None:
    assert store.query("PRAGMA journal_mode")[0][0] == "wal"


def write_then_crash(store: StateStore) -> None:
    with store.transaction():
        store.add_counter("telemetry_seq")  # each opens its own (nested) transaction
        store.put_json("applied_config", {"version": 1})
        raise RuntimeError("crash before commit")


def test_nested_transaction_rolls_back_with_the_outer_one(store: StateStore) -> None:
    with pytest.raises(RuntimeError):
        write_then_crash(store)
    assert store.counter("telemetry_seq") == 0
    assert store.get_json("applied_config") is None


def test_counters_and_values_persist(store: StateStore) -> None:
    assert [store.add_counter("mqtt_session") for _ in range(3)] == [1, 2, 3]
    store.put_json("k", {"a": [1, 2]})
    assert store.get_json("k") == {"a": [1, 2]}


def test_only_the_newest_applied_ids_are_kept(store: StateStore) -> None:
    for i in range(5):
        store.record_applied(f"id{i}", "ok", {"command_id": f"id{i}", "status": "ok"}, keep=3)
    assert store.applied_result("id0") is None
    assert store.applied_result("id1") is None
    assert store.applied_result("id4") == {"command_id": "id4", "status": "ok"}
    assert store.query("SELECT COUNT(*) FROM applied_commands")[0][0] == 3
