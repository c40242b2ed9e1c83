"""Per-device content state from ``content.*`` events, per-device deltas and ``content.sync`` arguments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from station_protocol import codec
from station_protocol.sync import SyncArgs

from ..errors import InvalidInput
from ..kernel.clock import utcnow
from ..settings import Settings
from .models import DeviceContent
from .service import MIB, Delta, delta_bytes, get_version, snapshot_url

EVENT_STATES = {"content.progress": None, "content.done": "done", "content.failed": "failed"}
BUDGET_FACTOR = 1.10
FORMAT_1 = 1  # the signed manifest and chunk objects: every agent syncs it
FORMAT_2 = 2  # content format that adds snapshot_url (docs/content.md §2b)
WINDOW = "window"  # sent as null too: "always open"


@dataclass(frozen=True)
class DeviceContentState:
    active_version: str | None
    previous_version: str | None
    job_id: str | None
    job_state: str | None
    bytes_done: int
    bytes_total: int
    reason: str | None
    updated_at: datetime


def device_state(session: Session, *, device_id: str, bundle: str) -> DeviceContentState | None:
    row = session.get(DeviceContent, (device_id, bundle))
    if row is None:
        return None
    return DeviceContentState(
        row.active_version,
        row.previous_version,
        row.job_id,
        row.job_state,
        row.bytes_done,
        row.bytes_total,
        row.reason,
        row.updated_at,
    )


def record_sync_event(session: Session, *, device_id: str, name: str, detail: dict[str, Any]) -> None:
    """Fold one ``content.progress/done/failed`` event into ``content_device_state`` (ignores others)."""
    if name not in EVENT_STATES or not isinstance(detail.get("bundle"), str):
        return
    bundle = str(detail["bundle"])[:64]
    row = session.get(DeviceContent, (device_id, bundle))
    if row is None:
        row = DeviceContent(
            device_id=device_id, bundle=bundle, bytes_done=0, bytes_total=0, updated_at=utcnow()
        )
        session.add(row)
    row.job_id = str(detail.get("job_id", ""))[:64] or row.job_id
    row.job_state = EVENT_STATES[name] or str(detail.get("state", "downloading"))[:16]
    row.bytes_done = int(detail.get("bytes_done", detail.get("bytes_wire", row.bytes_done)) or 0)
    row.bytes_total = int(detail.get("bytes_total", row.bytes_total) or 0)
    row.reason = str(detail["reason"])[:32] if name == "content.failed" and detail.get("reason") else None
    if name == "content.done" and detail.get("activated"):
        row.previous_version = detail.get("previous") or row.active_version
        row.active_version = str(detail.get("version", ""))[:64] or None
    row.updated_at = utcnow()
    session.commit()


def delta_for_device(
    session: Session, *, device_id: str, bundle: str, version: str, content_format: int = FORMAT_2
) -> Delta:
    state = device_state(session, device_id=device_id, bundle=bundle)
    have = state.active_version if state is not None else None
    if have == version:
        return Delta(0, 0, 0)
    try:
        return delta_bytes(
            session, bundle=bundle, version=version, have_version=have, content_format=content_format
        )
    except Exception:  # the device's version was retired/unknown here: count the full version
        return delta_bytes(session, bundle=bundle, version=version)


def _check_window(window: dict[str, Any] | None) -> None:
    if window is None:
        return
    for key in ("start", "end"):
        value = window.get(key)
        ok = (
            isinstance(value, str)
            and len(value) == 5
            and value[2] == ":"
            and value.replace(":", "").isdigit()
        )
        if not ok or not isinstance(value, str) or int(value[:2]) > 23 or int(value[3:]) > 59:
            raise InvalidInput(f"window.{key} must be HH:MM")
    if not isinstance(window.get("utc_offset_min", 0), int):
        raise InvalidInput("window.utc_offset_min must be an integer (minutes east of UTC)")


def sync_command_args(
    session: Session,
    *,
    settings: Settings,
    bundle: str,
    version: str,
    device_id: str | None = None,
    rate_kbit: int = 0,
    window: dict[str, Any] | None = None,
    job_id: str | None = None,
    budget_bytes: int | None = None,
    chunk_base_url: str | None = None,
    activate: bool = True,
    content_format: int = FORMAT_1,
) -> dict[str, Any]:
    """Arguments for ``send_command(name="content.sync")``; the budget defaults to delta x 1.10 + 1 MiB.

    ``content_format=2`` adds ``snapshot_url`` (agents that know format 2 use it) and the budget is
    the exact bytes of the precomputed delta from the device's active version; agents that do not
    know it answer ``rejected`` (unknown argument), and format 1 is what to send them.
    """
    info = get_version(session, settings=settings, bundle=bundle, version=version)
    _check_window(window)
    if budget_bytes is None:
        delta = (
            delta_for_device(
                session, device_id=device_id, bundle=bundle, version=version, content_format=content_format
            )
            if device_id
            else delta_bytes(session, bundle=bundle, version=version, content_format=content_format)
        )
        budget_bytes = int(delta.wire_bytes * BUDGET_FACTOR) + MIB
    args = SyncArgs(
        bundle=bundle,
        version=version,
        manifest_url=info.manifest_url,
        budget_bytes=int(budget_bytes),
        job_id=job_id or None,
        chunk_base_url=chunk_base_url or None,
        snapshot_url=snapshot_url(settings, bundle, version) if content_format >= FORMAT_2 else None,
        rate_kbit=int(rate_kbit),
        window=window,
        activate=activate,
    )
    return {k: v for k, v in codec.encode(args).items() if v is not None or k == WINDOW}
