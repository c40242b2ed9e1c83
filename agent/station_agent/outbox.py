"""Store-and-forward outbox: every uplink message is committed to state.db before it is published.

Delivery: a sender thread publishes rows in insertion order with QoS 1 while the link is up and deletes
a row only after its PUBACK. After a reconnect (or an agent restart, even after kill -9) it starts
again from the oldest row, so delivery is at-least-once, in order, with the original envelope (id and
ts) -- the controller deduplicates by envelope id and the TSDB by timestamp.

Bound and drop policy: the outbox holds at most ``max_messages`` rows and ``max_bytes`` payload bytes.
When a new message does not fit, the OLDEST TELEMETRY row is dropped first (a missing sample is a gap
in a chart; a lost command result or event is lost work). Results, events and config reports are only
dropped -- oldest first -- when no telemetry row is left; a new telemetry sample that finds no telemetry
to displace is itself dropped. Every drop increments the persistent counters ``outbox_dropped`` (all)
and ``outbox_dropped_priority`` (non-telemetry), reported in telemetry as ``queue_dropped``.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import List, Optional, Tuple

from station_protocol import now_ms

from .mqtt import Link, PublishHandle
from .state import StateStore

log = logging.getLogger(__name__)

TELEMETRY = "telemetry"
DROPPED = "outbox_dropped"
DROPPED_PRIORITY = "outbox_dropped_priority"


@dataclass(frozen=True)
class OutboxRow:
    id: int
    kind: str
    topic: str
    payload: bytes
    retain: bool


class Outbox:
    """Bounded, persistent FIFO of encoded messages (see the module docstring for the drop policy)."""

    def __init__(self, store: StateStore, *, max_messages: int, max_bytes: int, device_id: str = "") -> None:
        self.device_id = device_id
        self._store = store
        self._max_messages = max_messages
        self._max_bytes = max_bytes
        self._added = threading.Event()

    def put(self, kind: str, topic: str, payload: bytes, *, retain: bool = False) -> bool:
        """Commit one message; returns False when it was dropped at once (a telemetry sample with no room)."""
        size = len(payload)
        with self._store.transaction() as conn:
            if not self._make_room(conn, kind, size):
                self._count_drop(conn, kind)
                return False
            conn.execute(
                "INSERT INTO outbox(kind, topic, payload, size, retain, created_ms)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (kind, topic, payload, size, int(retain), now_ms()),
            )
        self._added.set()
        return True

    def _make_room(self, conn: sqlite3.Connection, kind: str, size: int) -> bool:
        count, total = conn.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM outbox").fetchone()
        while count + 1 > self._max_messages or total + size > self._max_bytes:
            victim = self._victim(conn, kind)
            if victim is None:
                return False
            victim_id, victim_kind, victim_size = victim
            conn.execute("DELETE FROM outbox WHERE id = ?", (victim_id,))
            self._count_drop(conn, victim_kind)
            count, total = count - 1, total - victim_size
        return True

    @staticmethod
    def _victim(conn: sqlite3.Connection, incoming_kind: str) -> Optional[Tuple[int, str, int]]:
        row = conn.execute(
            "SELECT id, kind, size FROM outbox WHERE kind = ? ORDER BY id LIMIT 1", (TELEMETRY,)
        ).fetchone()
        if row is None and incoming_kind != TELEMETRY:
            row = conn.execute("SELECT id, kind, size FROM outbox ORDER BY id LIMIT 1").fetchone()
        return None if row is None else (int(row[0]), str(row[1]), int(row[2]))

    def _count_drop(self, conn: sqlite3.Connection, kind: str) -> None:
        names = [DROPPED] if kind == TELEMETRY else [DROPPED, DROPPED_PRIORITY]
        for name in names:
            conn.execute(
                "INSERT INTO counters(name, value) VALUES (?, 1)"
                " ON CONFLICT(name) DO UPDATE SET value = value + 1",
                (name,),
            )
        log.warning("%s: outbox full, dropped one %s message", self.device_id, kind)

    def peek(self, limit: int) -> List[OutboxRow]:
        """The oldest ``limit`` rows, oldest first."""
        rows = self._store.query(
            "SELECT id, kind, topic, payload, retain FROM outbox ORDER BY id LIMIT ?", (limit,)
        )
        return [OutboxRow(int(r[0]), str(r[1]), str(r[2]), bytes(r[3]), bool(r[4])) for r in rows]

    def ack(self, ids: List[int]) -> None:
        """Delete rows the broker acknowledged."""
        if not ids:
            return
        with self._store.transaction() as conn:
            conn.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])

    def depth(self) -> int:
        return int(self._store.query("SELECT COUNT(*) FROM outbox")[0][0])

    def dropped(self) -> int:
        return self._store.counter(DROPPED)

    def wait_for_new(self, timeout: float) -> None:
        """Block until something was put (or ``timeout``); used by the sender when it found nothing."""
        self._added.wait(timeout)
        self._added.clear()


class OutboxSender:
    """Publishes the outbox in order while connected; runs on its own thread until ``stop`` is set."""

    def __init__(
        self, outbox: Outbox, link: Link, stop: threading.Event, *, batch: int, ack_timeout_s: float
    ) -> None:
        self._outbox = outbox
        self._link = link
        self._stop = stop
        self._batch = batch
        self._ack_timeout_s = ack_timeout_s

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:  # a bad row or a DB hiccup must not kill delivery for good
                log.exception("%s: outbox sender step failed; retrying", self._outbox.device_id)
                self._stop.wait(1.0)

    def step(self) -> int:
        """Send one batch if possible; returns how many rows were acknowledged."""
        if not self._link.wait_connected(0.5):
            return 0
        rows = self._outbox.peek(self._batch)
        if not rows:
            self._outbox.wait_for_new(0.5)
            return 0
        acked = self._publish_batch(rows)
        self._outbox.ack(acked)
        return len(acked)

    def _publish_batch(self, rows: List[OutboxRow]) -> List[int]:
        handles = [self._link.publish(row.topic, row.payload, qos=1, retain=row.retain) for row in rows]
        acked: List[int] = []
        for row, handle in zip(rows, handles):
            if not self._wait_ack(handle):
                break  # keep order: everything from here is resent, from the oldest, after reconnect
            acked.append(row.id)
        return acked

    def _wait_ack(self, handle: PublishHandle) -> bool:
        deadline = time.monotonic() + self._ack_timeout_s
        while time.monotonic() < deadline and not self._stop.is_set():
            if handle.wait(0.25):
                return True
            if not self._link.is_connected():
                return False
            self._stop.wait(0.01)  # a handle that failed at once must not turn this into a busy loop
        return False
