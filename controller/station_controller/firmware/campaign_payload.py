"""The ``firmware`` campaign payload: ``firmware.update`` per device, success only once health-committed.

Implements the campaigns hub's ``PayloadAction``; canary, waves, thresholds, pause/abort and night windows
are the campaign engine's. Outcomes: ``committed`` → succeeded (a finished download is only progress, so
thresholds count devices that proved themselves healthy), ``rolled_back``/``refused``/``failed`` → failed
with the device's reason as the failure type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from station_protocol import firmware as fw

from ..campaigns.payloads import CommandSender, Outcome, StartSpec
from ..campaigns.windows import Window
from ..errors import InvalidInput
from ..kernel.clock import utcnow
from ..registry.models import Device
from ..settings import Settings
from . import service
from .progress import parse_progress

WINDOW_DAYS = 7  # restart windows sent ahead: a device offline for a week gets a fresh start anyway
DEFAULT_HEALTH_DEADLINE_S = 300
# Failures worth another attempt later; a rolled-back or refused release fails the same way again.
RETRYABLE = frozenset({"download_failed", "interrupted", "busy", "outside_window", "broker_unreachable"})


def restart_windows(
    window: Window | None, *, utc_offset_min: int, now: datetime, until: datetime | None
) -> list[tuple[int, int]] | None:
    """The station's windows from ``now`` as [start, end) epoch ms pairs; None: restart at any time."""
    if window is None or window.all_day:
        return None
    tz = timezone(timedelta(minutes=utc_offset_min))
    end = min(until, now + timedelta(days=WINDOW_DAYS)) if until else now + timedelta(days=WINDOW_DAYS)
    return [
        (int(begin.timestamp() * 1000), int(close.timestamp() * 1000))
        for begin, close in window.intervals(now, end, tz)  # type: ignore[arg-type]
    ]


class FirmwarePayload:
    """Installs one firmware release (agent or OS) with the agent command ``firmware.update``."""

    kind = "firmware"
    default_role: str | None = None  # agents run on STBs and routers; narrow with target.role
    event_names = frozenset({fw.PROGRESS})

    def __init__(self, settings: Settings, clock: Callable[[], datetime] = utcnow) -> None:
        self._settings = settings
        self._clock = clock  # the campaign scheduler's clock: windows are sent from its "now"

    def validate(self, session: Session, *, payload: Mapping[str, Any]) -> dict[str, Any]:
        release_id = str(payload.get("release_id") or "").strip()
        if not release_id:
            kind = str(payload.get("kind") or "").strip()
            if kind not in fw.KINDS:
                raise InvalidInput("a firmware campaign needs payload.release_id, or payload.kind agent|os")
            found = service.latest_release(session, settings=self._settings, kind=kind)
        else:
            found = service.usable_release(session, settings=self._settings, release_id=release_id)
        deadline = int(payload.get("health_deadline_s") or DEFAULT_HEALTH_DEADLINE_S)
        if not 5 <= deadline <= 86_400:
            raise InvalidInput("payload.health_deadline_s: 5 to 86400 seconds")
        return {
            "release_id": found.release_id,
            "kind": found.kind,
            "version": found.version,
            "health_deadline_s": deadline,
        }

    def urls(self, release_id: str) -> tuple[str, str]:
        base = f"{self._settings.public_url.rstrip('/')}/firmware/releases/{release_id}/"
        return base + "manifest.json", base + "files/"

    def start(self, session: Session, *, device_id: str, spec: StartSpec, send: CommandSender) -> None:
        release_id = str(spec.payload["release_id"])
        manifest_url, files_url = self.urls(release_id)
        args: dict[str, Any] = {
            "release_id": release_id,
            "kind": str(spec.payload["kind"]),
            "version": str(spec.payload["version"]),
            "manifest_url": manifest_url,
            "files_base_url": files_url,
            "job_id": spec.job_id,
            "rate_kbit": (spec.rate_bps or 0) // 1000,
            "health_deadline_s": int(spec.payload.get("health_deadline_s") or DEFAULT_HEALTH_DEADLINE_S),
        }
        windows = restart_windows(
            spec.window, utc_offset_min=spec.utc_offset_min, now=self._clock(), until=spec.not_after
        )
        if windows is not None:
            args["windows_ms"] = [list(pair) for pair in windows]
        if spec.not_after is not None:
            args["not_after_ms"] = int(spec.not_after.timestamp() * 1000)
        send(device_id=device_id, name=fw.UPDATE, args=args, command_id=spec.job_id)

    def cancel(self, session: Session, *, device_id: str, job_id: str, send: CommandSender) -> None:
        """Nothing to send: an update has no cancel command (it ends at ``not_after_ms``), and one that
        already switched slots must finish its health check rather than be interrupted."""

    def interpret(
        self, session: Session, *, device_id: str, name: str, detail: Mapping[str, Any]
    ) -> Outcome | None:
        p = parse_progress(device_id, detail)
        if p is None:
            return None
        if p.state == "committed" or (
            p.state == "refused" and p.reason == "not_newer" and p.from_version == p.version
        ):
            return Outcome(p.job_id, "succeeded", status="committed", bytes_done=p.bytes_done or None)
        if p.state in ("rolled_back", "refused", "failed"):
            reason = (p.reason or p.state)[:32]
            return Outcome(
                p.job_id,
                "failed",
                status=p.state,
                failure_type=reason,
                error=f"{p.state}: {reason}{': ' + p.detail if p.detail else ''}"[:1024],
                retryable=p.state == "failed" and reason in RETRYABLE,
            )
        return Outcome(
            p.job_id,
            "progress",
            status=p.state,
            bytes_done=p.bytes_done,
            bytes_total=p.bytes_total or None,
        )

    def estimate_bytes(
        self, session: Session, *, payload: Mapping[str, Any], device_ids: list[str]
    ) -> dict[str, int]:
        """The whole release for each device not already on its version (files are fetched whole)."""
        found = service.get_release(session, settings=self._settings, release_id=str(payload["release_id"]))
        column = Device.agent_version if found.kind == "agent" else Device.os_version
        have: dict[str, str | None] = {}
        for start in range(0, len(device_ids), 5000):
            stmt = select(Device.id, column).where(Device.id.in_(device_ids[start : start + 5000]))
            have.update({row[0]: row[1] for row in session.execute(stmt)})
        return {d: 0 if have.get(d) == found.version else found.total_bytes for d in device_ids}
