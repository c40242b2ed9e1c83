"""Rollout planner: a discrete-event simulation of nights, windows, link speeds and the origin cap.

Model (BRIEF-B of docs/reference: "discrete-event, heapq, max-min sharing of B_o"): every station downloads
at most its link rate b_i, only inside its local window; the origin serves at most B_o in total. Stations
are admitted in order (waves) while origin capacity is left; the last one admitted takes what remains and
is topped up as capacity frees, so the origin never idles while someone is waiting in an open window.
The physical lower bound is min(B_o·U(N), Σ min(D_i, b_i·W_i·N)) ≥ Σ D_i, where U(N) is the union of all
windows over N nights (reference §6, Benchmark B).
"""

from __future__ import annotations

import bisect
import heapq
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .windows import Window, zone

_EPS = 1e-9


@dataclass(frozen=True)
class StationLoad:
    bytes: int  # D_i: what this station still has to download (its delta)
    link_bps: float  # b_i: min(link speed, per-device cap), bits/s
    tz: str = "Asia/Shanghai"


@dataclass
class Night:
    index: int
    delivered_bytes: float = 0.0
    completed: int = 0
    bound_bytes: float = 0.0


@dataclass
class Plan:
    stations: int
    total_bytes: int
    completed: int
    nights_needed: int | None  # None: not finished within max_nights
    lower_bound_nights: int | None
    nights: list[Night] = field(default_factory=list)

    @property
    def first_night_efficiency(self) -> float | None:
        """Bytes delivered in the first night ÷ the physical bound for it."""
        if not self.nights or self.nights[0].bound_bytes <= 0:
            return None
        return self.nights[0].delivered_bytes / self.nights[0].bound_bytes


@dataclass
class _Station:
    remaining: float  # bytes
    link: float  # bytes/s
    group: int
    rate: float = 0.0  # bytes/s while active
    since: float = 0.0
    version: int = 0
    done: bool = False


class _Sim:
    def __init__(self, loads: Sequence[StationLoad], origin_bps: float, max_active: int | None) -> None:
        self.tz_names = sorted({load.tz for load in loads})
        index = {name: n for n, name in enumerate(self.tz_names)}
        self.st = [_Station(float(ld.bytes), ld.link_bps / 8.0, index[ld.tz]) for ld in loads]
        self.free = origin_bps / 8.0
        self.max_active = max_active or len(loads) or 1
        self.active: set[int] = set()
        self.partial: set[int] = set()
        self.queues: list[deque[int]] = [deque() for _ in self.tz_names]
        self.open = [False] * len(self.tz_names)
        self.night_of = [-1] * len(self.tz_names)
        self.nights: dict[int, Night] = {}
        self.heap: list[tuple[float, int, int, int]] = []  # (time, kind 0=done, station, version)
        self.completed = 0

    def night(self, number: int) -> Night:
        return self.nights.setdefault(number, Night(number))

    def settle(self, i: int, now: float) -> None:
        """Account the bytes station ``i`` received since its last change."""
        s = self.st[i]
        got = min(s.remaining, s.rate * (now - s.since))
        s.remaining -= got
        s.since = now
        self.night(self.night_of[s.group]).delivered_bytes += got

    def set_rate(self, i: int, rate: float, now: float) -> None:
        s = self.st[i]
        s.rate, s.since, s.version = rate, now, s.version + 1
        finish = now + (s.remaining / rate if rate > _EPS else float("inf"))
        heapq.heappush(self.heap, (finish, 0, i, s.version))

    def fill(self, now: float) -> None:
        """Top up partially served stations, then admit waiting ones from open windows, in order."""
        for i in sorted(self.partial):
            if self.free <= _EPS:
                return
            s = self.st[i]
            self.settle(i, now)
            extra = min(s.link - s.rate, self.free)
            self.free -= extra
            self.set_rate(i, s.rate + extra, now)
            if s.rate >= s.link - _EPS:
                self.partial.discard(i)
        heads = [(q[0], g) for g, q in enumerate(self.queues) if self.open[g] and q]
        heapq.heapify(heads)
        while heads and self.free > _EPS and len(self.active) < self.max_active:
            i, g = heapq.heappop(heads)
            self.queues[g].popleft()
            s = self.st[i]
            rate = min(s.link, self.free)
            self.free -= rate
            self.active.add(i)
            if rate < s.link - _EPS:
                self.partial.add(i)
            self.set_rate(i, rate, now)
            if self.queues[g]:
                heapq.heappush(heads, (self.queues[g][0], g))

    def stop(self, i: int, now: float) -> None:
        self.settle(i, now)
        s = self.st[i]
        self.free += s.rate
        s.rate, s.version = 0.0, s.version + 1
        self.active.discard(i)
        self.partial.discard(i)

    def complete(self, i: int, now: float) -> None:
        self.stop(i, now)
        s = self.st[i]
        s.done, s.remaining = True, 0.0
        self.completed += 1
        self.night(self.night_of[s.group]).completed += 1

    def close(self, group: int, now: float) -> None:
        self.open[group] = False
        paused = sorted(i for i in self.active if self.st[i].group == group)
        for i in paused:
            self.stop(i, now)
        self.queues[group].extendleft(reversed(paused))


def _window_events(
    window: Window | None, tz_names: list[str], start: datetime, nights: int
) -> list[tuple[float, int, int, int]]:
    """(seconds from start, kind 1=close 2=open, group, night) for every window of every zone."""
    end = start + timedelta(days=nights + 1)
    events: list[tuple[float, int, int, int]] = []
    for g, name in enumerate(tz_names):
        spans = [(start, end)] if window is None else list(window.intervals(start, end, zone(name)))
        for night, (begin, close) in enumerate(spans[:nights]):
            events.append(((begin - start).total_seconds(), 2, g, night))
            events.append(((close - start).total_seconds(), 1, g, night))
    return events


def simulate(
    loads: Sequence[StationLoad],
    *,
    window: Window | None,
    origin_bps: float,
    start: datetime,
    max_nights: int = 60,
    max_active: int | None = None,
) -> Plan:
    """Run the rollout night by night; returns delivered bytes and completions per night, and the bound."""
    sim = _Sim(loads, origin_bps, max_active)
    for i, s in enumerate(sim.st):
        if s.remaining <= 0:
            s.done = True
            sim.completed += 1
        else:
            sim.queues[s.group].append(i)
    windows = _window_events(window, sim.tz_names, start, max_nights)
    spans = _spans(windows)
    for event in windows:
        heapq.heappush(sim.heap, event)
    last_night = -1
    while sim.heap and sim.completed < len(sim.st):
        now, kind, subject, tag = heapq.heappop(sim.heap)
        if kind == 0:
            if sim.st[subject].version == tag and not sim.st[subject].done:
                sim.complete(subject, now)
                last_night = max(last_night, sim.night_of[sim.st[subject].group])
                sim.fill(now)
        elif kind == 1:
            sim.close(subject, now)
            sim.fill(now)
        else:
            sim.open[subject], sim.night_of[subject] = True, tag
            length = spans[(subject, tag)][1] - spans[(subject, tag)][0]
            sim.night(tag).bound_bytes += sum(
                min(sim.st[i].remaining, sim.st[i].link * length) for i in sim.queues[subject]
            )
            sim.fill(now)
    plan = Plan(
        stations=len(loads),
        total_bytes=sum(ld.bytes for ld in loads),
        completed=sim.completed,
        nights_needed=(last_night + 1 if last_night >= 0 else 0) if sim.completed == len(loads) else None,
        lower_bound_nights=None,
        nights=[sim.nights[k] for k in sorted(sim.nights)],
    )
    _add_bounds(plan, loads, spans, sim.tz_names, origin_bps, max_nights)
    return plan


def _spans(windows: list[tuple[float, int, int, int]]) -> dict[tuple[int, int], tuple[float, float]]:
    """(group, night) → (open, close) in seconds from the start."""
    opens = {(g, n): t for t, kind, g, n in windows if kind == 2}
    return {(g, n): (opens[(g, n)], t) for t, kind, g, n in windows if kind == 1}


def _union_seconds(spans: list[tuple[float, float]]) -> float:
    total, reach = 0.0, float("-inf")
    for begin, end in sorted(spans):
        if end > reach:
            total += end - max(begin, reach)
            reach = end
    return total


def _add_bounds(
    plan: Plan,
    loads: Sequence[StationLoad],
    spans: dict[tuple[int, int], tuple[float, float]],
    tz_names: list[str],
    origin_bps: float,
    max_nights: int,
) -> None:
    """Each night's bound is min(origin · union of windows, what the links could take given what was
    still missing when each window opened); then the fewest nights any scheduler could need."""
    origin = origin_bps / 8.0
    groups = range(len(tz_names))
    for night in plan.nights:
        union = _union_seconds([spans[(g, night.index)] for g in groups if (g, night.index) in spans])
        night.bound_bytes = min(origin * union, night.bound_bytes)
    group_of = {name: g for g, name in enumerate(tz_names)}
    needed = float(sum(ld.bytes for ld in loads))
    plan.lower_bound_nights = _fewest_nights(
        loads, spans, group_of, len(tz_names), origin, needed, max_nights
    )


def _fewest_nights(
    loads: Sequence[StationLoad],
    spans: dict[tuple[int, int], tuple[float, float]],
    group_of: dict[str, int],
    groups: int,
    origin: float,
    needed: float,
    max_nights: int,
) -> int | None:
    """Smallest N with origin·U(N) ≥ Σ D_i and, for every station, b_i·(its window time in N nights) ≥ D_i."""
    per_group = [[0.0] for _ in range(groups)]
    union = [0.0]
    for n in range(max_nights):
        for g in range(groups):
            begin, end = spans.get((g, n), (0.0, 0.0))
            per_group[g].append(per_group[g][-1] + end - begin)
        union.append(union[-1] + _union_seconds([spans[(g, n)] for g in range(groups) if (g, n) in spans]))
    nights = bisect.bisect_left([origin * u for u in union], needed - 1e-6)
    for ld in loads:
        if ld.bytes > 0:
            times = per_group[group_of[ld.tz]]
            nights = max(nights, bisect.bisect_left(times, ld.bytes * 8.0 / ld.link_bps - 1e-6))
    return nights if nights <= max_nights else None
