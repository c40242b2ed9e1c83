"""The agent's one durable file, ``state_dir/state.db`` (SQLite WAL): counters, key/values, applied commands.

Schema (``PRAGMA user_version`` = 2; ``MIGRATIONS`` upgrade older files step by step on open):

    outbox(id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT, topic TEXT, payload BLOB, size INTEGER,
           retain INTEGER, created_ms INTEGER)               -- see outbox.py
    counters(name TEXT PRIMARY KEY, value INTEGER)          -- telemetry_seq, mqtt_session, outbox_dropped...
    kv(key TEXT PRIMARY KEY, value TEXT)                    -- JSON values, e.g. applied_config
    applied_commands(command_id TEXT PRIMARY KEY, status TEXT, result TEXT, applied_ms INTEGER)
    portal_sessions(session_id TEXT PRIMARY KEY, mac, ip, ...)  -- v2, see gateway/sessions.py
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, Optional

from station_protocol import now_ms

SCHEMA_VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    size INTEGER NOT NULL,
    retain INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_by_kind ON outbox(kind, id);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS applied_commands (
    command_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    result TEXT NOT NULL,
    applied_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS applied_by_time ON applied_commands(applied_ms);
"""
# user_version N → N+1: additive steps only, so an older agent's file opens unchanged.
MIGRATIONS: Dict[int, str] = {
    1: """
CREATE TABLE IF NOT EXISTS portal_sessions (
    session_id TEXT PRIMARY KEY,
    mac TEXT NOT NULL,
    ip TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    idle_timeout_s INTEGER NOT NULL,
    up_kbps INTEGER NOT NULL,
    down_kbps INTEGER NOT NULL,
    quota_bytes INTEGER NOT NULL,
    class_id INTEGER NOT NULL UNIQUE,
    base_up INTEGER NOT NULL DEFAULT 0,
    base_down INTEGER NOT NULL DEFAULT 0,
    live_up INTEGER NOT NULL DEFAULT 0,
    live_down INTEGER NOT NULL DEFAULT 0,
    started_ms INTEGER NOT NULL,
    last_activity_ms INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS portal_sessions_by_ip ON portal_sessions(ip);
CREATE UNIQUE INDEX IF NOT EXISTS portal_sessions_by_mac ON portal_sessions(mac);
""",
}


def _migrate(conn: sqlite3.Connection) -> None:
    """Apply every migration step above the file's ``user_version``, each in its own transaction."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0]) or 1  # 0: a file created just now
    while version < SCHEMA_VERSION:
        conn.executescript(f"BEGIN IMMEDIATE;{MIGRATIONS[version]}PRAGMA user_version={version + 1};COMMIT;")
        version += 1


class StateStore:
    """One SQLite connection shared by the agent's threads under a re-entrant lock."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self._lock = threading.RLock()
        self._depth = 0
        self.path = path

    @classmethod
    def open(cls, path: Path) -> StateStore:
        """Open (creating if needed) the state file in WAL mode with full fsync on commit."""
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30.0)
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed row survives power loss, not only kill -9; one fsync per message is cheap here.
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(_SCHEMA)
        _migrate(conn)
        return cls(conn, path)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; nested calls on the same thread join the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._conn
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                self._depth = 0

    def query(self, sql: str, params: Any = ()) -> list[Any]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def counter(self, name: str) -> int:
        rows = self.query("SELECT value FROM counters WHERE name = ?", (name,))
        return int(rows[0][0]) if rows else 0

    def add_counter(self, name: str, by: int = 1) -> int:
        """Add ``by`` to a persistent counter and return the new value."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO counters(name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                (name, by),
            )
            return int(conn.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()[0])

    def get_json(self, key: str) -> Optional[Any]:
        rows = self.query("SELECT value FROM kv WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else None

    def put_json(self, key: str, value: Any) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO kv(key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value, separators=(",", ":"))),
            )

    def applied_result(self, command_id: str) -> Optional[Dict[str, Any]]:
        """The stored result body of an applied command id, or None."""
        rows = self.query("SELECT result FROM applied_commands WHERE command_id = ?", (command_id,))
        return json.loads(rows[0][0]) if rows else None

    def record_applied(self, command_id: str, status: str, result: Dict[str, Any], *, keep: int) -> None:
        """Remember a command's result; only the newest ``keep`` ids are kept (commands expire sooner)."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO applied_commands(command_id, status, result, applied_ms)"
                " VALUES (?, ?, ?, ?)",
                (command_id, status, json.dumps(result, separators=(",", ":")), now_ms()),
            )
            conn.execute(
                "DELETE FROM applied_commands WHERE command_id NOT IN "
                "(SELECT command_id FROM applied_commands ORDER BY applied_ms DESC, rowid DESC LIMIT ?)",
                (keep,),
            )
