"""The trial agent's proof of health: self-checks, a telemetry sample taken and everything acknowledged.

Birth is published on every CONNECT before the outbox sender may publish, and the sender removes a row
only after the broker's PUBACK; so "a telemetry sample taken since the start and the outbox empty"
means: connected, birth sent, first telemetry delivered.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Tuple

from .. import AGENT_VERSION
from ..outbox import Outbox
from ..state import StateStore
from ..telemetry import SEQ_COUNTER
from . import launcher as boot

Check = Callable[[], Optional[str]]  # None: fine; else what is wrong


@dataclass(frozen=True)
class Verdict:
    healthy: bool
    reason: Optional[str] = None  # fw.FAILURES tag when not healthy
    detail: str = ""


def default_checks(root: Path, slot: str, state_dir: Path) -> List[Check]:
    return [lambda: _runs_from_slot(root, slot), lambda: _writable(state_dir)]


def _runs_from_slot(root: Path, slot: str) -> Optional[str]:
    import station_agent

    here = Path(station_agent.__file__).resolve()
    site = (boot.slot_dir(root, slot) / "site").resolve()
    if site not in here.parents:
        return f"station_agent loaded from {here}, not from slot {slot}"
    info = boot.slot_info(root, slot) or {}
    if info.get("version") != AGENT_VERSION:
        return f"slot {slot} says {info.get('version')!r}, running {AGENT_VERSION}"
    return None


def _writable(state_dir: Path) -> Optional[str]:
    try:
        fd, name = tempfile.mkstemp(dir=state_dir, prefix=".health-")
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        return f"state directory not writable: {exc}"
    return None


class HealthGate:
    def __init__(self, store: StateStore, outbox: Outbox, checks: List[Check]) -> None:
        self._store = store
        self._outbox = outbox
        self._checks = checks
        self._seq0 = store.counter(SEQ_COUNTER)

    def evaluate(self) -> Verdict:
        for check in self._checks:
            problem = check()
            if problem:
                return Verdict(False, "self_check_failed", problem)
        samples = self._store.counter(SEQ_COUNTER) - self._seq0
        depth = self._outbox.depth()
        if samples <= 0:
            return Verdict(False, "health_deadline", "no telemetry sample taken yet")
        if depth > 0:
            return Verdict(False, "broker_unreachable", f"{depth} messages not acknowledged by the broker")
        return Verdict(True)


def deadline_passed(pending: dict, now_ms: int) -> Tuple[bool, int]:  # type: ignore[type-arg]
    end = int(pending.get("switched_ms", now_ms)) + int(pending.get("health_deadline_s", 300)) * 1000
    return now_ms >= end, end
