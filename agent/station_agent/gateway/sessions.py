"""Authenticated portal sessions in ``state.db`` (table ``portal_sessions``), so they survive restarts.

Byte totals are ``base_* + live_*``: ``live_*`` is the last value read from the element counters in
nft, ``base_*`` what earlier incarnations of the element had counted. Before anything recreates the
elements (a full table reload, a rebuild after reboot) ``fold_live`` moves live into base, because
new elements start counting at zero.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from typing import Any, ContextManager, List, Optional, Sequence

from ..state import StateStore
from .ruleset import Client
from .tc import MAX_CLASS_ID, MIN_CLASS_ID

COLUMNS = (
    "session_id, mac, ip, expires_at, idle_timeout_s, up_kbps, down_kbps, quota_bytes, class_id,"
    " base_up, base_down, live_up, live_down, started_ms, last_activity_ms"
)


@dataclass(frozen=True)
class Session:
    session_id: str
    mac: str
    ip: str
    expires_at: int  # ms, controller clock
    idle_timeout_s: int  # 0: no idle limit
    up_kbps: int  # 0: uncapped
    down_kbps: int
    quota_bytes: int  # 0: no quota (up + down)
    class_id: int  # HTB minor / u32 node id
    base_up: int = 0
    base_down: int = 0
    live_up: int = 0
    live_down: int = 0
    started_ms: int = 0
    last_activity_ms: int = 0

    @property
    def client(self) -> Client:
        return Client(mac=self.mac, ip=self.ip)

    @property
    def bytes_up(self) -> int:
        return self.base_up + self.live_up

    @property
    def bytes_down(self) -> int:
        return self.base_down + self.live_down

    def with_live(self, up: int, down: int, now_ms: int) -> Session:
        """New counter readings; traffic in either direction counts as activity.

        A reading below the last one means the element was recreated behind our back: what the old
        element had counted moves into the base.
        """
        base_up = self.base_up + (self.live_up if up < self.live_up else 0)
        base_down = self.base_down + (self.live_down if down < self.live_down else 0)
        active = up != self.live_up or down != self.live_down
        return replace(
            self,
            base_up=base_up,
            base_down=base_down,
            live_up=up,
            live_down=down,
            last_activity_ms=now_ms if active else self.last_activity_ms,
        )


def _row(row: Sequence[Any]) -> Session:
    return Session(*(row[0], row[1], row[2]), *(int(v) for v in row[3:]))


class SessionStore:
    """CRUD on ``portal_sessions``; callers serialise through the gateway lock."""

    def __init__(self, store: StateStore) -> None:
        self._store = store

    def transaction(self) -> ContextManager[sqlite3.Connection]:
        return self._store.transaction()

    def all(self) -> List[Session]:
        return [
            _row(r)
            for r in self._store.query(f"SELECT {COLUMNS} FROM portal_sessions ORDER BY session_id")  # noqa: S608
        ]

    def get(self, session_id: str) -> Optional[Session]:
        rows = self._store.query(f"SELECT {COLUMNS} FROM portal_sessions WHERE session_id = ?", (session_id,))  # noqa: S608
        return _row(rows[0]) if rows else None

    def by_ip(self, ip: str) -> Optional[Session]:
        rows = self._store.query(f"SELECT {COLUMNS} FROM portal_sessions WHERE ip = ?", (ip,))  # noqa: S608
        return _row(rows[0]) if rows else None

    def clashing(self, session_id: str, mac: str, ip: str) -> List[Session]:
        """Other sessions holding the same MAC or IP (a DHCP re-assignment or a new login)."""
        rows = self._store.query(
            f"SELECT {COLUMNS} FROM portal_sessions WHERE session_id != ? AND (mac = ? OR ip = ?)",  # noqa: S608
            (session_id, mac, ip),
        )
        return [_row(r) for r in rows]

    def free_class_id(self) -> int:
        used = {int(r[0]) for r in self._store.query("SELECT class_id FROM portal_sessions")}
        for candidate in range(MIN_CLASS_ID, MAX_CLASS_ID + 1):
            if candidate not in used:
                return candidate
        raise OverflowError(f"all {MAX_CLASS_ID - MIN_CLASS_ID + 1} shaping classes are in use")

    def put(self, session: Session) -> None:
        """Insert or replace one session (in the caller's transaction when there is one)."""
        marks = ", ".join("?" * len(COLUMNS.split(",")))
        with self._store.transaction() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO portal_sessions({COLUMNS}) VALUES ({marks})",  # noqa: S608 - constants
                (
                    session.session_id, session.mac, session.ip, session.expires_at, session.idle_timeout_s,
                    session.up_kbps, session.down_kbps, session.quota_bytes, session.class_id,
                    session.base_up, session.base_down, session.live_up, session.live_down,
                    session.started_ms, session.last_activity_ms,
                ),
            )  # fmt: skip

    def put_many(self, sessions: Sequence[Session]) -> None:
        with self._store.transaction():
            for session in sessions:
                self.put(session)

    def delete(self, session_id: str) -> None:
        with self._store.transaction() as conn:
            conn.execute("DELETE FROM portal_sessions WHERE session_id = ?", (session_id,))

    def fold_live(self) -> None:
        """Move live counters into the base before the nft elements are recreated from zero."""
        with self._store.transaction() as conn:
            conn.execute(
                "UPDATE portal_sessions SET base_up = base_up + live_up, base_down = base_down + live_down,"
                " live_up = 0, live_down = 0"
            )
