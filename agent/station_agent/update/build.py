"""What every role gets from the update package: the ``firmware.*`` handlers, the worker, birth fields.

An agent not started by the launcher (no ``STATION_UPDATE_ROOT``) has no slots: its ``firmware.update``
is rejected with a message saying how to install the launcher.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable, Dict

from station_protocol import firmware as fw

from ..commands.base import CommandContext
from ..config import AgentConfig
from ..errors import CommandRejected
from ..outbox import Outbox
from ..roles import RoleParts
from ..state import StateStore
from .settings import load_update_settings

NOT_MANAGED = "this agent was not started by the station launcher (no A/B slots); see docs/firmware.md"


def _not_managed(_ctx: CommandContext) -> Dict[str, Any]:
    raise CommandRejected(NOT_MANAGED)


BuildRole = Callable[..., RoleParts]


def with_update(build_role: BuildRole) -> BuildRole:
    """Decorates runtime.build_role: the role's parts plus the update handlers and worker."""

    @functools.wraps(build_role)
    def build(cfg: AgentConfig, role: str, *, device_id: str, store: StateStore, outbox: Outbox) -> RoleParts:
        parts = build_role(cfg, role, device_id=device_id, store=store, outbox=outbox)
        return add_update(
            parts, state_dir=cfg.state_dir, role=role, device_id=device_id, store=store, outbox=outbox
        )

    return build


def add_update(
    parts: RoleParts, *, state_dir: Path, role: str, device_id: str, store: StateStore, outbox: Outbox
) -> RoleParts:
    """``parts`` plus the update handlers and loop (the role's own handlers keep their names)."""
    settings = load_update_settings()
    if settings is None:
        parts.handlers.setdefault(fw.UPDATE, _not_managed)
        parts.handlers.setdefault(fw.STATUS, _not_managed)
        return parts
    from ..system_metrics import _model
    from .service import FirmwareService

    os_port = None
    if settings.rauc is not None:
        from .os_update import OsUpdater
        from .rauc import Rauc

        os_port = OsUpdater(Rauc(settings.rauc), settings.root)
    service = FirmwareService(
        settings,
        store=store,
        outbox=outbox,
        device_id=device_id,
        role=role,
        state_dir=state_dir,
        hardware_model=_model(),
        os_port=os_port,
    )
    for name, handler in service.handlers().items():
        parts.handlers.setdefault(name, handler)
    parts.loops.append(("firmware", service.run))
    return parts


def birth_extra() -> Dict[str, Any]:
    """Birth's firmware fields for this process (empty when not under the launcher)."""
    settings = load_update_settings()
    if settings is None:
        return {}
    from .records import birth_fields

    fields = birth_fields(settings.root, settings.slot)
    os_file = settings.root / "os.json"
    if os_file.exists():
        import json

        try:
            data = json.loads(os_file.read_text(encoding="utf-8"))
            fields.update(os_version=data.get("os_version"), os_slot=data.get("os_slot"))
        except (OSError, ValueError):
            pass
    return fields
