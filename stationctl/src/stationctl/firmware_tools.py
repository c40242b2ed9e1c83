"""External tools of ``stationctl firmware build`` (pip, rauc): stationctl's only subprocess importer."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from .client import CliError


def run(argv: Sequence[str], *, what: str, timeout_s: float = 900.0) -> str:
    """Run ``argv`` (no shell); CliError with the tool's own output when it fails."""
    try:
        proc = subprocess.run(  # noqa: S603 - argument lists built from validated CLI options
            list(argv), capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CliError(f"{what}: cannot run {argv[0]}: {exc}") from None
    if proc.returncode != 0:
        raise CliError(
            f"{what} failed (exit {proc.returncode}): {(proc.stderr or proc.stdout).strip()[-1500:]}"
        )
    return proc.stdout


def pip(*args: str, what: str) -> str:
    return run([sys.executable, "-m", "pip", *args], what=what)


def rauc_bundle(content: Path, bundle: Path, *, cert: Path, key: Path, keyring: Path | None) -> None:
    argv = ["rauc", "bundle", f"--cert={cert}", f"--key={key}"]
    if keyring is not None:
        argv.append(f"--keyring={keyring}")
    run([*argv, str(content), str(bundle)], what="rauc bundle")
