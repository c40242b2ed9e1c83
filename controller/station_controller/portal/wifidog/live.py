"""In-memory WiFiDog state: registered gateways and live sessions by token, counters folded until flushed."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Row = dict[str, Any]


class Verdict(Enum):
    """What memory alone can say about one counters check."""

    ALLOW = 1
    DENY = 0
    MISS = "miss"  # token not in memory: load it from the database, then ask again
    SLOW = "slow"  # needs a database transaction (end the session, bind an unknown IP)


@dataclass
class LiveSession:
    """The fields a counters check reads, plus the counters not yet written to the database."""

    id: str
    gateway: str
    mac: str
    ip: str
    active: bool
    token_used: bool
    expires_at: float  # epoch seconds
    quota_bytes: int
    bytes_up: int
    bytes_down: int
    last_activity: float | None  # epoch seconds
    idle_timeout_s: int = 0  # 0 = no idle limit
    idle_since: float = 0.0  # epoch seconds: the login check, when there was no activity yet
    touched: float = 0.0  # monotonic, for eviction

    def idle(self, now: float) -> bool:
        """No real traffic for the policy's idle timeout (counted from the login when there was none)."""
        since = self.last_activity or self.idle_since
        return bool(self.idle_timeout_s and since and now - since >= self.idle_timeout_s)


def real_traffic(old_down: int, old_up: int, down: int, up: int, probe_bytes: int) -> bool:
    """Whether counters grew by more than the gateway's own probes could explain.

    A WiFiDog gateway checks that each client is still there (ICMP echo / ARP from the gateway, every
    CheckInterval), and those bytes go through the client's counters: on a silent phone they rise by
    a few hundred bytes per report, which used to count as activity, so the idle timeout never fired.
    Growth of at most ``probe_bytes`` (up + down) since the previous report is therefore not activity.
    """
    grown = max(down, old_down) - old_down + max(up, old_up) - old_up
    return grown > probe_bytes


def _epoch(value: datetime | None) -> float | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def snapshot(record: Any) -> LiveSession:
    """A LiveSession from a ``PortalSession`` row (ORM object or anything with its attributes)."""
    return LiveSession(
        id=record.id,
        gateway=record.gateway,
        mac=record.mac or "",
        ip=record.ip or "",
        active=record.status == "active",
        token_used=record.token_used_at is not None,
        expires_at=_epoch(record.expires_at) or 0.0,
        quota_bytes=record.quota_bytes or 0,
        bytes_up=record.bytes_up or 0,
        bytes_down=record.bytes_down or 0,
        last_activity=_epoch(record.last_activity_at),
        idle_timeout_s=record.idle_timeout_s or 0,
        idle_since=_epoch(record.token_used_at) or _epoch(record.started_at) or 0.0,
        touched=time.monotonic(),
    )


class LiveSessions:
    """Wifidog sessions keyed by token hash. Thread-safe: the event loop answers, threads apply changes."""

    def __init__(self, *, probe_bytes: int = 0) -> None:
        self._probe_bytes = probe_bytes
        self._lock = threading.Lock()
        self._by_token: dict[str, LiveSession] = {}
        self._token_of: dict[str, str] = {}  # session id → token hash
        self._dirty: set[str] = set()

    def __len__(self) -> int:
        return len(self._by_token)

    def counters(
        self, *, token_hash: str, gw_id: str, mac: str, ip: str, down: int, up: int, now: float
    ) -> Verdict:
        """Fold one counters report into memory and decide, or say why memory cannot decide."""
        with self._lock:
            live = self._by_token.get(token_hash)
            if live is None:
                return Verdict.MISS
            live.touched = time.monotonic()
            if not live.active or live.gateway != gw_id:
                return Verdict.DENY
            if not live.mac or (ip and not live.ip):
                return Verdict.SLOW  # the first report binds the MAC / IP: a database write
            if mac != live.mac or (ip and ip != live.ip) or not live.token_used:
                return Verdict.DENY
            if down > live.bytes_down or up > live.bytes_up:
                if real_traffic(live.bytes_down, live.bytes_up, down, up, self._probe_bytes):
                    live.last_activity = now
                live.bytes_down, live.bytes_up = max(live.bytes_down, down), max(live.bytes_up, up)
                self._dirty.add(live.id)
            used_up = live.quota_bytes and live.bytes_up + live.bytes_down >= live.quota_bytes
            ending = live.expires_at <= now or used_up or live.idle(now)
            return Verdict.SLOW if ending else Verdict.ALLOW  # the database path ends it

    def apply(self, token_hash: str | None, state: LiveSession) -> None:
        """Take a committed database state; counters only grow and an ended session stays ended."""
        with self._lock:
            token_hash = token_hash or self._token_of.get(state.id)
            if token_hash is None:
                return  # a session never asked about; loaded on first use
            live = self._by_token.get(token_hash)
            if live is None:
                self._by_token[token_hash], self._token_of[state.id] = state, token_hash
                return
            live.mac, live.ip, live.token_used = state.mac, state.ip, state.token_used
            live.active = live.active and state.active
            live.expires_at, live.quota_bytes = state.expires_at, state.quota_bytes
            live.idle_timeout_s, live.idle_since = state.idle_timeout_s, state.idle_since
            live.bytes_up, live.bytes_down = (
                max(live.bytes_up, state.bytes_up),
                max(live.bytes_down, state.bytes_down),
            )
            live.last_activity = max(live.last_activity or 0.0, state.last_activity or 0.0) or None

    def overlay(self, session_id: str) -> tuple[int, int, float | None] | None:
        """(bytes_up, bytes_down, last_activity) held in memory for a session, if any."""
        with self._lock:
            token_hash = self._token_of.get(session_id)
            live = self._by_token.get(token_hash) if token_hash else None
            return None if live is None else (live.bytes_up, live.bytes_down, live.last_activity)

    def take_dirty(self) -> list[Row]:
        """Rows of every session whose counters changed since the last call (cleared)."""
        with self._lock:
            rows = []
            for session_id in self._dirty:
                live = self._by_token.get(self._token_of.get(session_id, ""))
                if live is not None:
                    rows.append(_row(live))
            self._dirty.clear()
        return rows

    def restore(self, rows: Iterable[Row]) -> None:
        """Mark the sessions of a failed flush dirty again (memory still holds their counters)."""
        with self._lock:
            self._dirty.update(row["id"] for row in rows if row["id"] in self._token_of)

    def evict(self, idle_s: float) -> int:
        """Forget sessions not asked about for ``idle_s`` (and already flushed); returns how many."""
        cutoff = time.monotonic() - idle_s
        with self._lock:
            stale = [t for t, s in self._by_token.items() if s.touched < cutoff and s.id not in self._dirty]
            for token_hash in stale:
                self._token_of.pop(self._by_token.pop(token_hash).id, None)
        return len(stale)


def _row(live: LiveSession) -> Row:
    activity = datetime.fromtimestamp(live.last_activity, UTC) if live.last_activity else None
    return {
        "id": live.id,
        "bytes_up": live.bytes_up,
        "bytes_down": live.bytes_down,
        "last_activity_at": activity,
    }


class LiveGateways:
    """Registered gateways and their allowed source networks; a miss is checked in the database."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._networks: dict[str, list[Network]] = {}
        self._generation = 0

    def allowed(self, gw_id: str, source_ip: str) -> bool:
        networks = self._networks.get(gw_id)
        if not networks:
            return False
        try:
            address = ipaddress.ip_address(source_ip)
        except ValueError:
            return False
        return any(address in net for net in networks)

    def generation(self) -> int:
        return self._generation

    def put(self, gw_id: str, sources: Iterable[str]) -> None:
        networks = [ipaddress.ip_network(s, strict=False) for s in sources]
        with self._lock:
            self._networks[gw_id] = networks
            self._generation += 1

    def drop(self, gw_id: str) -> None:
        with self._lock:
            self._networks.pop(gw_id, None)
            self._generation += 1

    def replace(self, gateways: Mapping[str, Iterable[str]], *, generation: int) -> bool:
        """Swap in a full reload unless a change was applied since it was read (then the next one wins)."""
        networks = {gw: [ipaddress.ip_network(s, strict=False) for s in src] for gw, src in gateways.items()}
        with self._lock:
            if self._generation != generation:
                return False
            self._networks = networks
            return True
