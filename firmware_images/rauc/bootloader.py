#!/usr/bin/env python3
"""RAUC ``custom`` bootloader backend keeping the boot state in a JSON file, plus a modelled boot.

RAUC calls it as ``bootloader.py get-primary | set-primary BOOTNAME | get-state BOOTNAME |
set-state BOOTNAME good|bad`` (``[handlers] bootloader-custom-backend=`` in system.conf); the state
file is ``$STATION_BOOT_STATE``. ``bootloader.py boot`` is what a U-Boot/GRUB script does at power-on
(docs/firmware.md): try the primary slot while it is good and has attempts left (3, like meta-rauc's
``BOOT_<slot>_LEFT``), else fall back to the other good slot; prints the bootname it boots.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Dict

ATTEMPTS = 3


def _path() -> Path:
    return Path(os.environ.get("STATION_BOOT_STATE", "/var/lib/station-boot/state.json"))


def load() -> Dict[str, Any]:
    try:
        data: Dict[str, Any] = json.loads(_path().read_text(encoding="utf-8"))
        return data
    except FileNotFoundError:
        fresh = {"state": "good", "left": ATTEMPTS}
        return {"primary": "A", "slots": {"A": dict(fresh), "B": dict(fresh)}}


def save(state: Dict[str, Any]) -> None:
    path = _path()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(state, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _out(text: str, file: Any = None) -> None:
    (file or sys.stdout).write(text + "\n")


def main(argv: list[str]) -> int:
    state = load()
    slots = state["slots"]
    cmd, args = (argv[0], argv[1:]) if argv else ("", [])
    if cmd == "get-primary":
        primary = state["primary"]
        if slots[primary]["state"] == "good":
            _out(primary)
    elif cmd == "set-primary":
        state["primary"] = args[0]
        slots[args[0]].update(state="good", left=ATTEMPTS)  # RAUC just wrote it: try it next boot
        save(state)
    elif cmd == "get-state":
        _out(slots[args[0]]["state"])
    elif cmd == "set-state":
        slots[args[0]]["state"] = args[1]
        if args[1] == "good":
            slots[args[0]]["left"] = ATTEMPTS
        save(state)
    elif cmd == "boot":
        _out(boot(state))
        save(state)
    else:
        _out(f"bootloader.py: unknown command {cmd!r}", file=sys.stderr)
        return 1
    return 0


def boot(state: Dict[str, Any]) -> str:
    """Choose the slot to boot and spend one attempt of it (the boot-count rollback)."""
    slots = state["slots"]
    order = [state["primary"]] + [name for name in sorted(slots) if name != state["primary"]]
    for name in order:
        slot = slots[name]
        if slot["state"] == "good" and slot["left"] > 0:
            slot["left"] -= 1
            state["booted"] = name
            return name
    state["booted"] = order[0]  # nothing bootable: a real board would sit in its recovery; try primary
    return order[0]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
