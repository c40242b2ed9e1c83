"""Typed update settings: the launcher's environment plus ``<root>/update.json`` (all optional keys)."""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

from ..errors import ConfigError
from . import launcher as boot

SETTINGS_FILE = "update.json"


@dataclass(frozen=True)
class RaucSettings:
    """How to reach RAUC: ``dbus_address`` of its system bus (None: the default system bus)."""

    compatible: str
    dbus_address: Optional[str] = None
    rauc: str = "rauc"
    timeout_s: float = 600.0


@dataclass(frozen=True)
class UpdateSettings:
    root: Path
    slot: str  # the slot this agent runs from
    attempt: int  # the launcher's count of starts of this slot as a trial (0: not a trial)
    python: str  # interpreter the launcher runs slots with (smoke tests use it too)
    python_version: str
    arch: str
    hardware_model: Optional[str] = None  # None: what the telemetry reports (``hardware.model``)
    http_timeout_s: float = 30.0
    retries: int = 6  # per file and for the manifest, with backoff
    retry_max_s: float = 60.0
    check_interval_s: float = 1.0  # health gate re-check period
    progress_interval_s: float = 2.0  # ``downloading`` events at most this often
    smoke_timeout_s: float = 120.0
    rauc: Optional[RaucSettings] = None
    reboot_command: Tuple[str, ...] = ("systemctl", "reboot")  # kind os, after the install

    @property
    def keys_dir(self) -> Path:
        """Pinned firmware public keys (``*.pub``: base64 raw ed25519); content keys live elsewhere."""
        return self.root / "keys" / "firmware"

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    @property
    def job_file(self) -> Path:
        return self.root / "job.json"


def load_update_settings(env: Mapping[str, str] = os.environ) -> Optional[UpdateSettings]:
    """None when the agent was not started by the launcher (no slots: updates are refused)."""
    root = env.get(boot.ENV_ROOT)
    slot = env.get(boot.ENV_SLOT)
    if not root or slot not in boot.SLOTS:
        return None
    path = Path(root) / SETTINGS_FILE
    raw = _read(path)
    rauc = raw.pop("rauc", None)
    known = {"python", "hardware_model", "http_timeout_s", "retries", "retry_max_s", "check_interval_s"}
    known |= {"progress_interval_s", "smoke_timeout_s", "reboot_command"}
    if "reboot_command" in raw:
        raw["reboot_command"] = tuple(str(x) for x in raw["reboot_command"])
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {unknown}; allowed: {sorted(known) + ['rauc']}")
    try:
        return UpdateSettings(
            root=Path(root),
            slot=str(slot),
            attempt=int(env.get(boot.ENV_ATTEMPT, "0") or 0),
            python=str(raw.pop("python", sys.executable)),
            python_version=f"{sys.version_info[0]}.{sys.version_info[1]}",
            arch=platform.machine(),
            rauc=None if rauc is None else RaucSettings(**rauc),
            **{k: raw[k] for k in raw},
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _read(path: Path) -> Dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return dict(data)
