"""OS images through RAUC: install into the inactive slot, and after the reboot commit or mark bad.

The agent has already checked our ed25519 signature; RAUC checks its own and writes the slot. After the
modelled (or real) reboot the same health gate as for agent updates decides: ``rauc status mark-good``
and ``committed``, or ``mark-bad`` and a reboot back into the old slot. A board that never comes up
is RAUC's and the bootloader's job (boot counter, docs/firmware.md).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from . import launcher as boot
from .health import Verdict
from .rauc import Rauc

OS_FILE = "os.json"


@dataclass(frozen=True)
class Outcome:
    state: str  # committed | rolled_back
    reason: Optional[str]
    detail: str
    slot: Optional[str]


class OsUpdater:
    def __init__(self, rauc: Rauc, root: Path) -> None:
        self.rauc = rauc
        self.root = root

    def install(self, bundle: Path) -> str:
        """The RAUC slot (e.g. ``rootfs.1``) the bundle went to; it boots next."""
        return self.rauc.install(bundle)

    def after_boot(
        self,
        target_slot: str,
        version: str,
        healthy: Callable[[], Verdict],
        deadline_ms: int,
        wait: Callable[[float], bool],
    ) -> Outcome:
        """Judge the boot after an install; marks the booted slot good or bad."""
        _version, booted = self.rauc.booted()
        if booted != target_slot:
            detail = f"booted {booted}, not {target_slot}: the bootloader fell back to the old slot"
            return Outcome("rolled_back", "crashed_at_start", detail, booted)
        verdict = healthy()
        while not verdict.healthy and time.time() * 1000 < deadline_ms:
            if wait(1.0):
                break
            verdict = healthy()
        if verdict.healthy:
            self.rauc.mark(True)
            self.record(version, booted)
            return Outcome("committed", None, f"{version} healthy on {booted}; marked good", booted)
        self.rauc.mark(False)
        return Outcome("rolled_back", verdict.reason or "health_deadline", verdict.detail, booted)

    def record(self, version: str, slot: Optional[str]) -> None:
        """What birth reports as os_version / os_slot (RAUC itself is asked only when it changes)."""
        boot.write_json_atomic(self.root / OS_FILE, {"os_version": version, "os_slot": slot})

    def current(self) -> Optional[str]:
        try:
            data = json.loads((self.root / OS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        value = data.get("os_version")
        return str(value) if value else None
