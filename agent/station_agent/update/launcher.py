"""The device's agent "bootloader": starts the selected install slot, counts trial starts, falls back.

Stdlib only and free of package-relative imports: the playbook copies this one file to
``<root>/launcher.py`` and systemd runs it with the system Python; an update replaces slot
directories, never this file. The agent imports it too, so both sides share one boot-state format.

Layout (docs/firmware.md "Slots and the launcher")::

    <root>/launcher.py         this file
    <root>/boot.json           {"active": "a", "pending": null | {...}, "last_update": {...}}
    <root>/slots/a/SLOT.json   {"version": "0.1.0", "release_id": ...}; slots/a/site/ the unpacked wheels
    <root>/slots/b/...         the other slot (absent, the previous version or the next one)

A slot named in ``boot.json`` is complete: installers write ``slots/<x>.tmp`` and rename it. The switch
to a new version is one atomic write of ``pending``; each start of the pending slot increments
``pending.attempts`` *before* the start (a power cut counts), and after MAX_ATTEMPTS starts without a
commit the launcher clears ``pending`` and records ``rolled_back`` / ``crashed_at_start``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import signal
import sys
import time
import zipfile
from pathlib import Path
from typing import Any, Dict, List, Optional

MAX_ATTEMPTS = 3
BOOT_FILE = "boot.json"
SLOT_FILE = "SLOT.json"
CACHE_DIR = "cache"  # release files by sha256 (update/cache.py): unchanged wheels are not fetched again
SLOTS = ("a", "b")
ENV_ROOT = "STATION_UPDATE_ROOT"
ENV_SLOT = "STATION_SLOT"
ENV_ATTEMPT = "STATION_SLOT_ATTEMPT"
# Runs the agent of one slot: only the slot's unpacked wheels and the standard library are importable.
BOOT_CODE = (
    "import runpy, site, sys; s = sys.argv.pop(1); site.addsitedir(s); sys.path.remove(s); "
    "sys.path.insert(0, s); sys.argv[0] = 'station-agent'; "
    "runpy.run_module('station_agent', run_name='__main__', alter_sys=True)"
)


# -- boot state ----------------------------------------------------------------------------------
def write_json_atomic(path: Path, data: Any) -> None:
    """Write-to-temp, fsync, rename, fsync the directory: a power cut leaves the old or the new file."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump(data, out, sort_keys=True, indent=1)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    fd = os.open(str(path.parent), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_boot(root: Path) -> Dict[str, Any]:
    try:
        data = json.loads((root / BOOT_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"active": "a", "pending": None, "last_update": None}
    if not isinstance(data, dict) or data.get("active") not in SLOTS:
        raise SystemExit(f"launcher: {root / BOOT_FILE} is corrupt; restore it or re-run `launcher init`")
    return data


def write_boot(root: Path, state: Dict[str, Any]) -> None:
    write_json_atomic(root / BOOT_FILE, state)


def other(slot: str) -> str:
    return "b" if slot == "a" else "a"


def slot_dir(root: Path, slot: str) -> Path:
    return root / "slots" / slot


def slot_info(root: Path, slot: str) -> Optional[Dict[str, Any]]:
    """SLOT.json of a complete slot, or None (absent or never finished)."""
    try:
        data = json.loads((slot_dir(root, slot) / SLOT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# -- installing a slot from wheels -----------------------------------------------------------------
def unpack_wheel(wheel: Path, site: Path) -> None:
    """Install a wheel the way pip lays it out (purelib/platlib), refusing paths that leave ``site``."""
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            name = info.filename
            parts = name.split("/")
            if name.startswith("/") or ".." in parts:
                raise ValueError(f"{wheel.name}: unsafe path {name!r}")
            if len(parts) > 2 and parts[0].endswith(".data"):
                if parts[1] not in ("purelib", "platlib"):
                    continue  # scripts, headers, data: the agent runs as ``-m station_agent``
                name = "/".join(parts[2:])
            if info.is_dir():
                continue
            target = site / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)


def stage_slot(root: Path, slot: str, wheels: List[Path], meta: Dict[str, Any]) -> Path:
    """Unpack ``wheels`` into ``slots/<slot>.tmp`` (fsynced); nothing a launcher would start yet."""
    tmp = slot_dir(root, slot).with_name(slot + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "site").mkdir(parents=True)
    for wheel in sorted(wheels):
        unpack_wheel(wheel, tmp / "site")
    write_json_atomic(tmp / SLOT_FILE, meta)
    _sync_tree(tmp)
    return tmp


def publish_slot(root: Path, slot: str) -> Path:
    """Rename the staged ``slots/<slot>.tmp`` over ``slots/<slot>`` (the inactive slot, never the active)."""
    final = slot_dir(root, slot)
    old = final.with_name(slot + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(final.with_name(slot + ".tmp"), final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def install_slot(root: Path, slot: str, wheels: List[Path], meta: Dict[str, Any]) -> Path:
    stage_slot(root, slot, wheels, meta)
    return publish_slot(root, slot)


def _sync_tree(path: Path) -> None:
    """fsync every file: the rename must not publish a slot whose data is still in the page cache."""
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def cache_file(root: Path, path: Path, sha256: str) -> None:
    """Hard-link ``path`` into the cache under its sha256 (already there, or no links: skipped)."""
    cache = root / CACHE_DIR
    cache.mkdir(exist_ok=True)
    with contextlib.suppress(OSError):
        os.link(path, cache / sha256)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as src:
        for block in iter(lambda: src.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def clean_partial(root: Path) -> None:
    """Remove half-written slots left by a kill or power cut during an install."""
    for slot in SLOTS:
        for suffix in (".tmp", ".old"):
            shutil.rmtree(slot_dir(root, slot).with_name(slot + suffix), ignore_errors=True)


def agent_argv(python: str, root: Path, slot: str, agent_args: List[str]) -> List[str]:
    return [python, "-I", "-c", BOOT_CODE, str(slot_dir(root, slot) / "site"), *agent_args]


# -- choosing and starting a slot ------------------------------------------------------------------
def choose_slot(root: Path, now_ms: int) -> str:
    """The slot to start now; counts a trial start, or gives up on the trial after MAX_ATTEMPTS."""
    state = read_boot(root)
    pending = state.get("pending")
    if not pending:
        return str(state["active"])
    attempts = int(pending.get("attempts", 0))
    if attempts >= MAX_ATTEMPTS or slot_info(root, pending["slot"]) is None:
        reason = "crashed_at_start" if attempts >= MAX_ATTEMPTS else "install_failed"
        state["pending"] = None
        state["last_update"] = _result(pending, "rolled_back", reason, now_ms, attempts)
        write_boot(root, state)
        return str(state["active"])
    pending["attempts"] = attempts + 1
    write_boot(root, state)
    return str(pending["slot"])


def _result(pending: Dict[str, Any], state: str, reason: str, now_ms: int, attempts: int) -> Dict[str, Any]:
    detail = f"slot {pending['slot']} failed {attempts} starts without a health commit"
    return {
        "job_id": pending.get("job_id"),
        "release_id": pending.get("release_id"),
        "kind": "agent",
        "version": pending.get("version"),
        "from_version": pending.get("from_version"),
        "campaign_id": pending.get("campaign_id"),
        "state": state,
        "reason": reason,
        "detail": detail,
        "slot": pending["slot"],
        "attempt": attempts,
        "at_ms": now_ms,
        "reported": False,
    }


class Launcher:
    """Runs the agent of the chosen slot until told to stop; restarts it whenever it exits."""

    def __init__(self, root: Path, python: str, agent_args: List[str], restart_delay_s: float) -> None:
        self.root = root
        self.python = python
        self.agent_args = agent_args
        self.restart_delay_s = restart_delay_s
        self.stopping = False
        self.child: Optional[int] = None

    def stop(self, signum: int, _frame: Any) -> None:
        self.stopping = True
        if self.child is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.child, signum)

    def run(self) -> int:
        clean_partial(self.root)
        while not self.stopping:
            slot = choose_slot(self.root, int(time.time() * 1000))
            started = time.monotonic()
            code = self._run_slot(slot)
            if self.stopping:
                return 0
            sys.stderr.write(f"launcher: slot {slot} exited with {code}\n")
            if time.monotonic() - started < self.restart_delay_s:
                time.sleep(self.restart_delay_s)
        return 0

    def _run_slot(self, slot: str) -> int:
        env = dict(os.environ)
        env[ENV_ROOT] = str(self.root)
        env[ENV_SLOT] = slot
        pending = read_boot(self.root).get("pending") or {}
        env[ENV_ATTEMPT] = str(pending.get("attempts", 0) if pending.get("slot") == slot else 0)
        argv = agent_argv(self.python, self.root, slot, self.agent_args)
        # posix_spawn, not subprocess: the agent imports this module, and subprocess has one importer.
        self.child = os.posix_spawn(argv[0], argv, env)
        while True:
            try:
                _pid, status = os.waitpid(self.child, 0)
                break
            except InterruptedError:
                continue
        self.child = None
        return os.waitstatus_to_exitcode(status)


def _init(args: argparse.Namespace) -> int:
    """First install (bootstrap/playbook): slot a from a directory of wheels, unless a slot is active."""
    root = Path(args.root)
    root.mkdir(parents=True, exist_ok=True)
    if (root / BOOT_FILE).exists() and not args.force:
        sys.stdout.write(f"launcher: {root} already initialised\n")
        return 0
    wheels = sorted(Path(args.wheels).glob("*.whl"))
    if not wheels:
        raise SystemExit(f"launcher: no wheels in {args.wheels}")
    version = args.version or _agent_version(wheels)
    install_slot(root, "a", wheels, {"version": version, "release_id": f"agent-{version}"})
    for wheel in wheels:
        cache_file(root, wheel, _sha256(wheel))
    write_boot(root, {"active": "a", "pending": None, "last_update": None})
    shutil.copyfile(__file__, root / "launcher.py")
    return 0


def _agent_version(wheels: List[Path]) -> str:
    """The version in ``station_agent-<version>-py3-none-any.whl``."""
    for wheel in wheels:
        parts = wheel.name.split("-")
        if parts[0] == "station_agent" and len(parts) > 2:
            return parts[1]
    raise SystemExit("launcher: no station_agent wheel among the wheels; pass --version")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="station-launcher", description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="update root, e.g. /opt/station-agent")
    sub = parser.add_subparsers(dest="action", required=True)
    init = sub.add_parser("init", help="install slot a from --wheels and write boot.json")
    init.add_argument("--wheels", required=True)
    init.add_argument("--version", help="default: from the station_agent wheel's name")
    init.add_argument("--force", action="store_true")
    run = sub.add_parser("run", help="run the agent of the selected slot (args after -- go to the agent)")
    run.add_argument("--python", default=sys.executable, help="interpreter for the agent")
    run.add_argument("--restart-delay-s", type=float, default=1.0)
    run.add_argument("agent_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.action == "init":
        return _init(args)
    agent_args = args.agent_args[1:] if args.agent_args[:1] == ["--"] else args.agent_args
    python = shutil.which(args.python) or args.python  # posix_spawn wants a path, systemd may give a name
    launcher = Launcher(Path(args.root), python, agent_args, args.restart_delay_s)
    signal.signal(signal.SIGTERM, launcher.stop)
    signal.signal(signal.SIGINT, launcher.stop)
    return launcher.run()


if __name__ == "__main__":
    sys.exit(main())
