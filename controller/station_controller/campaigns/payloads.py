"""What a campaign runs on each device, behind one Protocol owned here; features implement it
(content sync: ``content/campaign_payload.py``) and the composition root registers them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from sqlalchemy.orm import Session

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


@runtime_checkable
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


def cancel_id(job_id: str) -> str:
    """The command id of a job's cancel: derived, so a restarted scheduler never sends it twice."""
    return f"x{job_id}"[:64]


def payload_registry(actions: Iterable[PayloadAction]) -> dict[str, PayloadAction]:
    """The payload kinds campaigns can run, by name; built once by the composition root (plugins.py)
    from what each feature provides (``content/campaign_payload.py``, ...)."""
    registry: dict[str, PayloadAction] = {}
    for action in actions:
        if action.kind in registry:
            raise ValueError(f"two campaign payloads are called {action.kind!r}")
        registry[action.kind] = action
    return registry
