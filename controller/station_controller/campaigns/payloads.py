"""What a campaign runs on each device, behind one Protocol; content sync is the first implementation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import ControllerError, InvalidInput
from ..settings import Settings
from .windows import Window

OutcomeKind = Literal["progress", "succeeded", "failed"]


class CommandSender(Protocol):
    """Sends one command to one device and records it (commands.service.send_command underneath)."""

    def __call__(self, *, device_id: str, name: str, args: dict[str, Any], command_id: str) -> None: ...


@dataclass(frozen=True)
class StartSpec:
    """One attempt on one device: ``job_id`` is also the command id, so a resend is idempotent."""

    job_id: str
    payload: Mapping[str, Any]
    window: Window | None
    utc_offset_min: int  # the station's offset now (what the agent needs to apply the window)
    rate_bps: int | None
    not_after: datetime | None


@dataclass(frozen=True)
class Outcome:
    """What one device event means for the campaign."""

    job_id: str
    kind: OutcomeKind
    status: str | None = None
    bytes_done: int | None = None
    bytes_total: int | None = None
    rate_bps: float | None = None
    eta_s: float | None = None
    failure_type: str | None = None
    error: str | None = None
    retryable: bool = True


class PayloadAction(Protocol):
    """Starts, interprets and cancels one kind of per-device work (content sync, firmware, ...)."""

    kind: str
    default_role: str | None
    event_names: frozenset[str]

    def validate(self, session: Session, *, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The normalised payload; raises InvalidInput/NotFound with what to fix."""
        ...

    def start(self, session: Session, *, device_id: str, spec: StartSpec, send: CommandSender) -> None: ...

    def cancel(self, session: Session, *, device_id: str, job_id: str, send: CommandSender) -> None: ...

    def interpret(
        self, session: Session, *, device_id: str, name: str, detail: Mapping[str, Any]
    ) -> Outcome | None:
        """The outcome of one event (None when it is not about a job); may record payload-side state."""
        ...

    def estimate_bytes(
        self, session: Session, *, payload: Mapping[str, Any], device_ids: list[str]
    ) -> dict[str, int]:
        """Bytes each device still has to download (the planner's input)."""
        ...


def _int(detail: Mapping[str, Any], key: str) -> int | None:
    value = detail.get(key)
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _float(detail: Mapping[str, Any], key: str) -> float | None:
    value = detail.get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class ContentSync:
    """Installs a content bundle version on STBs with the agent command ``content.sync`` (docs/content.md)."""

    kind = "content"
    default_role: str | None = "stb"
    event_names = frozenset({"content.progress", "content.done", "content.failed"})

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def validate(self, session: Session, *, payload: Mapping[str, Any]) -> dict[str, Any]:
        from ..content import service as content

        bundle = str(payload.get("bundle") or "").strip()
        if not bundle:
            raise InvalidInput("a content campaign needs payload.bundle (and payload.version or 'latest')")
        version = str(payload.get("version") or "latest").strip()
        if version == "latest":
            info = content.latest_version(session, settings=self._settings, bundle=bundle)
        else:
            info = content.get_version(session, settings=self._settings, bundle=bundle, version=version)
        return {
            "bundle": info.bundle,
            "version": info.version,
            "activate": bool(payload.get("activate", True)),
        }

    def start(self, session: Session, *, device_id: str, spec: StartSpec, send: CommandSender) -> None:
        from ..content.devices import sync_command_args

        window = None
        if spec.window is not None and not spec.window.all_day:
            window = {
                "start": spec.window.start.strftime("%H:%M"),
                "end": spec.window.end.strftime("%H:%M"),
                "utc_offset_min": spec.utc_offset_min,
            }
        args = sync_command_args(
            session,
            settings=self._settings,
            bundle=str(spec.payload["bundle"]),
            version=str(spec.payload["version"]),
            device_id=device_id,
            rate_kbit=(spec.rate_bps or 0) // 1000,
            window=window,
            job_id=spec.job_id,
            activate=bool(spec.payload.get("activate", True)),
        )
        if spec.not_after is not None:
            args["not_after_ms"] = int(spec.not_after.timestamp() * 1000)
        send(device_id=device_id, name="content.sync", args=args, command_id=spec.job_id)

    def cancel(self, session: Session, *, device_id: str, job_id: str, send: CommandSender) -> None:
        send(
            device_id=device_id, name="content.cancel", args={"job_id": job_id}, command_id=cancel_id(job_id)
        )

    def interpret(
        self, session: Session, *, device_id: str, name: str, detail: Mapping[str, Any]
    ) -> Outcome | None:
        from ..content.devices import record_sync_event

        record_sync_event(session, device_id=device_id, name=name, detail=dict(detail))
        job_id = detail.get("job_id")
        if not isinstance(job_id, str):
            return None
        if name == "content.done":
            return Outcome(job_id, "succeeded", status="done", bytes_done=_int(detail, "bytes_wire"))
        if name == "content.failed":
            reason = str(detail.get("reason") or "other")[:32]
            return Outcome(
                job_id,
                "failed",
                status="failed",
                failure_type=reason,
                error=str(detail.get("detail") or reason)[:1024],
                retryable=bool(detail.get("retryable", True)),
            )
        return Outcome(
            job_id,
            "progress",
            status=str(detail.get("state") or "downloading")[:32],
            bytes_done=_int(detail, "bytes_done"),
            bytes_total=_int(detail, "bytes_total"),
            rate_bps=_float(detail, "rate_bps"),
            eta_s=_float(detail, "eta_s"),
        )

    def estimate_bytes(
        self, session: Session, *, payload: Mapping[str, Any], device_ids: list[str]
    ) -> dict[str, int]:
        """The delta per device from its active version (one query, one delta per distinct version)."""
        from ..content.models import DeviceContent
        from ..content.service import delta_bytes

        bundle, version = str(payload["bundle"]), str(payload["version"])
        have: dict[str, str | None] = {}
        for start in range(0, len(device_ids), 5000):
            stmt = select(DeviceContent.device_id, DeviceContent.active_version).where(
                DeviceContent.bundle == bundle, DeviceContent.device_id.in_(device_ids[start : start + 5000])
            )
            have.update({row[0]: row[1] for row in session.execute(stmt)})
        by_version: dict[str | None, int] = {}
        for held in set(have.values()) | {None}:
            if held == version:
                by_version[held] = 0
                continue
            try:
                by_version[held] = delta_bytes(
                    session, bundle=bundle, version=version, have_version=held
                ).wire_bytes
            except ControllerError:  # the held version was retired here: count the whole version
                by_version[held] = delta_bytes(session, bundle=bundle, version=version).wire_bytes
        return {device_id: by_version[have.get(device_id)] for device_id in device_ids}


def cancel_id(job_id: str) -> str:
    """The command id of a job's cancel: derived, so a restarted scheduler never sends it twice."""
    return f"x{job_id}"[:64]


def build_payloads(settings: Settings) -> dict[str, PayloadAction]:
    """Every payload kind campaigns can run, by name."""
    actions: list[PayloadAction] = [ContentSync(settings)]
    return {action.kind: action for action in actions}
