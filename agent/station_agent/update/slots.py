"""Installs an agent release into the inactive slot: stage, smoke-test, then one rename (launcher.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Sequence

from station_protocol import firmware as fw

from ..process import CannotRun, ToolOutput, run_tool
from . import launcher as boot
from .errors import InstallFailed
from .faults import fault

Tool = Callable[..., ToolOutput]


def install_agent(
    root: Path,
    slot: str,
    files_dir: Path,
    m: fw.Manifest,
    *,
    python: str,
    timeout_s: float,
    tool: Tool = run_tool,
) -> None:
    """Leaves ``slots/<slot>`` complete with ``m`` (or as it was, with InstallFailed)."""
    wheels = [files_dir / e.path for e in m.files if e.path.endswith(".whl")]
    if not wheels:
        raise InstallFailed(f"release {m.release_id} has no wheels")
    meta = {"version": m.version, "release_id": m.release_id, "installed_ms": int(time.time() * 1000)}
    try:
        staged = boot.stage_slot(root, slot, wheels, meta)
    except (OSError, ValueError) as exc:
        raise InstallFailed(f"unpacking {m.release_id}: {exc}") from None
    fault("unpack")
    _smoke(python, staged, m.version, timeout_s, tool)
    boot.publish_slot(root, slot)


def _smoke(python: str, staged: Path, version: str, timeout_s: float, tool: Tool) -> None:
    """The staged agent must start far enough to print its version (imports, entry point)."""
    argv: Sequence[str] = [python, "-I", "-c", boot.BOOT_CODE, str(staged / "site"), "--version"]
    try:
        out = tool(argv, timeout_s=timeout_s)
    except CannotRun as exc:
        raise InstallFailed(f"smoke test could not run: {exc}") from None
    if out.returncode != 0 or out.stdout.strip() != version:
        detail = (out.stderr or out.stdout).strip()[-300:]
        raise InstallFailed(f"smoke test: exit {out.returncode}, printed {out.stdout.strip()!r}: {detail}")
