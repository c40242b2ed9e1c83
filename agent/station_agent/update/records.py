"""Update bookkeeping shared by the job worker: progress events, restart windows, birth fields."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from station_protocol import Channel, Event, codec, encode, make, topic
from station_protocol import firmware as fw
from station_protocol.errors import MalformedMessage

from .. import AGENT_VERSION
from ..outbox import Outbox
from . import launcher as boot

SEVERITY = {"refused": "warning", "failed": "error", "rolled_back": "error"}


class Events:
    """``firmware.progress`` events, store-and-forward through the outbox."""

    def __init__(self, outbox: Outbox, device_id: str) -> None:
        self._outbox = outbox
        self._device_id = device_id

    def progress(
        self, job: Dict[str, Any], state: str, reason: Optional[str], detail: str, **extra: Any
    ) -> fw.Progress:
        args = job["args"]
        return fw.Progress(
            job_id=job["job_id"],
            release_id=args["release_id"],
            kind=args["kind"],
            version=args["version"],
            state=state,
            from_version=job.get("from_version") or AGENT_VERSION,
            reason=reason,
            detail=detail[:1024],
            campaign_id=args.get("campaign_id"),
            **extra,
        )

    def emit(self, progress: fw.Progress) -> None:
        self.emit_detail(progress.state, codec.encode(progress))

    def emit_detail(self, state: str, detail: Dict[str, Any]) -> None:
        body = Event(name=fw.PROGRESS, severity=SEVERITY.get(state, "info"), detail=detail)
        dev = self._device_id
        self._outbox.put("event", topic(dev, Channel.EVENT), encode(make(dev, body)))


class WindowClosed(Exception):
    """No allowed window is left before ``not_after_ms``."""


def now_ms() -> int:
    return int(time.time() * 1000)


def seconds_to_window(windows_ms: Optional[List[List[int]]] | Any, not_after_ms: int, now: int) -> float:
    """0 inside an allowed window (or with none given), else seconds to the next; WindowClosed if none."""
    if not_after_ms and now > not_after_ms:
        raise WindowClosed(f"not restarted before {not_after_ms}")
    if not windows_ms:
        return 0.0
    if any(start <= now < end for start, end in windows_ms):
        return 0.0
    later = [
        start for start, _end in windows_ms if start > now and (not not_after_ms or start <= not_after_ms)
    ]
    if not later:
        raise WindowClosed("no allowed window left")
    return (min(later) - now) / 1000.0


def writable_check(state_dir: Path) -> Optional[str]:
    from .health import _writable

    return _writable(state_dir)


def last_update_of(raw: Any) -> Optional[fw.LastUpdate]:
    if not isinstance(raw, dict):
        return None
    try:
        return codec.decode(fw.LastUpdate, raw, "last_update", strict=False)
    except MalformedMessage:
        return None


def birth_fields(root: Path, slot: str) -> Dict[str, Any]:
    """The optional Birth fields (docs/protocol.md §4): slot and last finished update."""
    try:
        state = boot.read_boot(root)
    except SystemExit:
        return {"agent_slot": slot}
    last = last_update_of(state.get("last_update"))
    return {"agent_slot": slot, "last_update": None if last is None else codec.encode(last)}
