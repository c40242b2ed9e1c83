"""RAUC adapter for kind ``os``: ``rauc install`` / ``status`` / ``mark-good|bad`` on RAUC's D-Bus.

The agent checks our ed25519 signature first; RAUC then checks its own (CMS) signature and
``compatible`` and writes the inactive slot. Boot-count rollback stays with RAUC and the bootloader.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from ..process import CannotRun, run_tool
from .errors import RaucFailed
from .settings import RaucSettings


class Rauc:
    def __init__(self, settings: RaucSettings) -> None:
        self.s = settings

    def _run(self, *args: str) -> str:
        argv: List[str] = [self.s.rauc, *args]
        env_prefix: List[str] = []
        if self.s.dbus_address:
            env_prefix = ["env", f"DBUS_SYSTEM_BUS_ADDRESS={self.s.dbus_address}"]
        try:
            out = run_tool(env_prefix + argv, timeout_s=self.s.timeout_s)
        except CannotRun as exc:
            raise RaucFailed(f"cannot run rauc: {exc}") from None
        if out.returncode != 0:
            raise RaucFailed(
                f"rauc {' '.join(args)}: exit {out.returncode}: {(out.stderr or out.stdout).strip()[-400:]}"
            )
        return out.stdout

    def status(self) -> Dict[str, Any]:
        data = json.loads(self._run("status", "--output-format=json", "--detailed"))
        return data if isinstance(data, dict) else {}

    def booted(self) -> Tuple[Optional[str], Optional[str]]:
        """(version of the booted slot's bundle, booted slot name, e.g. ``rootfs.1``)."""
        try:
            status = self.status()
        except (RaucFailed, ValueError):
            return None, None
        booted = status.get("booted")
        for slot in _slots(status):
            name, info = slot
            if info.get("bootname") == booted or name == booted:
                bundle = (info.get("slot_status") or {}).get("bundle") or {}
                return bundle.get("version"), name
        return None, booted if isinstance(booted, str) else None

    def install(self, bundle: Path) -> str:
        """Install into the inactive slot; returns the slot RAUC marked primary for the next boot."""
        self._run("install", str(bundle))
        status = self.status()
        primary = status.get("boot_primary")
        return str(primary) if primary else ""

    def mark(self, good: bool) -> str:
        return self._run("status", "mark-good" if good else "mark-bad", "booted").strip()

    def slot_device(self, name: str) -> Optional[Path]:
        for slot_name, info in _slots(self.status()):
            if slot_name == name and info.get("device"):
                return Path(str(info["device"]))
        return None


def _slots(status: Dict[str, Any]) -> List[Tuple[str, Dict[str, Any]]]:
    out = []
    for item in status.get("slots") or []:
        if isinstance(item, dict):
            for name, info in item.items():
                out.append((str(name), dict(info or {})))
    return out


def env_with_bus(address: Optional[str]) -> Dict[str, str]:
    env = dict(os.environ)
    if address:
        env["DBUS_SYSTEM_BUS_ADDRESS"] = address
    return env
