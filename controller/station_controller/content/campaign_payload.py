"""Content's campaign payload: installs a bundle version on STBs with ``content.sync`` (docs/content.md).

Implements the campaigns hub's ``PayloadAction`` Protocol; the composition root (plugins.py) registers it
under the kind ``content``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from station_protocol.content import FORMAT_V2_CAPABILITY

from ..campaigns.payloads import CommandSender, Outcome, StartSpec, cancel_id
from ..errors import ControllerError, InvalidInput
from ..registry.models import Device
from ..settings import Settings
from .devices import FORMAT_1, FORMAT_2, record_sync_event, sync_command_args
from .models import DeviceContent
from .service import delta_bytes, get_version, latest_version


def _int(detail: Mapping[str, Any], key: str) -> int | None:
    value = detail.get(key)
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def content_format_of(session: Session, device_id: str) -> int:
    """Format 2 for an agent whose last birth advertised it, format 1 (which every agent syncs) otherwise."""
    device = session.get(Device, device_id)
    capabilities = (device.capabilities if device is not None else None) or []
    return FORMAT_2 if FORMAT_V2_CAPABILITY in capabilities else FORMAT_1


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
        bundle = str(payload.get("bundle") or "").strip()
        if not bundle:
            raise InvalidInput("a content campaign needs payload.bundle (and payload.version or 'latest')")
        version = str(payload.get("version") or "latest").strip()
        if version == "latest":
            info = latest_version(session, settings=self._settings, bundle=bundle)
        else:
            info = get_version(session, settings=self._settings, bundle=bundle, version=version)
        return {
            "bundle": info.bundle,
            "version": info.version,
            "activate": bool(payload.get("activate", True)),
        }

    def start(self, session: Session, *, device_id: str, spec: StartSpec, send: CommandSender) -> None:
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
            content_format=content_format_of(session, device_id),
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
