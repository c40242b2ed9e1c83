"""The agent bundle (wheels of station-protocol, station-agent and their dependencies): build and serve."""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shutil
import subprocess  # noqa: S404 - the one module that runs `pip wheel`
import sys
import tarfile
import tempfile
import threading
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse

from ..api.deps import AppSettings
from ..errors import NotFound, StationError
from ..settings import Settings

log = logging.getLogger(__name__)

BUNDLE = "station-agent-bundle.tar.gz"
MANIFEST = "manifest.json"
PROJECT_ROOT = Path(__file__).resolve().parents[3]
_BUILD_LOCK = threading.Lock()


class BundleBuildError(StationError, RuntimeError):
    """``pip wheel`` failed: the message holds its output (needs PyPI or a local index for paho/psutil)."""


def artifacts_dir(settings: Settings) -> Path:
    return settings.provisioning_artifacts_dir or settings.data_dir / "artifacts"


def build_bundle(out_dir: Path, *, project_root: Path = PROJECT_ROOT) -> dict[str, Any]:
    """Build wheels of the agent and its dependencies into one tar.gz plus a manifest (returned)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bundle-") as tmp:
        wheels = Path(tmp) / "wheels"
        argv = [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(wheels)]
        argv += [str(project_root / "protocol"), str(project_root / "agent")]
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600)  # noqa: S603
        if done.returncode != 0:
            raise BundleBuildError(f"pip wheel failed:\n{done.stdout}{done.stderr}")
        archive = Path(tmp) / BUNDLE
        with tarfile.open(archive, "w:gz") as tar:
            for wheel in sorted(wheels.iterdir()):
                tar.add(wheel, arcname=f"wheels/{wheel.name}")
        shutil.move(archive, out_dir / BUNDLE)
    with tarfile.open(out_dir / BUNDLE) as tar:
        names = sorted(n.split("/")[-1] for n in tar.getnames())
    sha = hashlib.sha256((out_dir / BUNDLE).read_bytes()).hexdigest()
    manifest = {"file": BUNDLE, "sha256": sha, "wheels": names}
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    log.info("agent bundle built in %s (sha256 %s)", out_dir, manifest["sha256"][:12])
    return manifest


def ensure_bundle(settings: Settings) -> dict[str, Any]:
    """The current manifest, building the bundle first if there is none."""
    out = artifacts_dir(settings)
    with _BUILD_LOCK:
        if not (out / MANIFEST).exists():
            build_bundle(out)
    data: dict[str, Any] = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    return data


router = APIRouter(prefix="/provisioning/artifacts", tags=["provisioning"])


@router.get("/{name}")
def artifact(name: str, settings: AppSettings) -> FileResponse:
    """The agent bundle and its manifest, unauthenticated: fresh boxes have no credential yet (open code)."""
    if name not in (BUNDLE, MANIFEST):
        raise NotFound(f"no artifact {name!r}; there are {BUNDLE} and {MANIFEST}")
    path = artifacts_dir(settings) / name
    if not path.exists():
        raise NotFound(
            "the agent bundle is not built: run `python -m station_controller.provisioning.artifacts`"
        )
    return FileResponse(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the agent bundle the bootstrap playbook installs.")
    parser.add_argument("--out", type=Path, default=Path("var/artifacts"), help="artifacts directory")
    args = parser.parse_args(argv)
    manifest = build_bundle(args.out)
    sys.stdout.write(f"{args.out / BUNDLE} sha256 {manifest['sha256']}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
