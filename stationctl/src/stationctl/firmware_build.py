"""Builds a firmware release directory: ``files/`` plus the unsigned ``manifest.json``.

kind ``agent``: our wheels (protocol, agent) and every dependency as wheels for a named target (Python
version, CPU architecture), from the package index pip is configured with, so the device installs
offline. kind ``os``: one RAUC bundle (``rauc bundle``, format=plain) of a root filesystem image.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from station_protocol import firmware as fw

from . import firmware_tools as tools
from .client import CliError

DAY_MS = 86_400_000
MANIFEST = "manifest.json"
SIGNED = "manifest.signed.json"


@dataclass(frozen=True)
class Target:
    python: str  # "3.11"
    arch: str  # "x86_64", "aarch64", "armv7l"

    def pip_args(self) -> list[str]:
        plats = [f"manylinux_2_{n}_{self.arch}" for n in (17, 28, 31, 34, 35, 36)]
        plats += [f"manylinux2014_{self.arch}", f"manylinux2010_{self.arch}", f"linux_{self.arch}"]
        out = ["--only-binary=:all:", "--python-version", self.python, "--implementation", "cp"]
        for plat in plats:
            out += ["--platform", plat]
        return out


@dataclass(frozen=True)
class Release:
    """What goes in the manifest besides the files."""

    kind: str
    name: str
    version: str
    roles: tuple[str, ...]
    expires_days: float
    hardware_models: tuple[str, ...] = ()
    min_agent_version: str | None = None
    rollback_of: str | None = None
    rauc_compatible: str | None = None
    notes: str = ""


def _entries(files: Path) -> list[fw.FileEntry]:
    out = []
    for path in sorted(p for p in files.rglob("*") if p.is_file()):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        out.append(fw.FileEntry(path.relative_to(files).as_posix(), path.stat().st_size, digest))
    return sorted(out, key=lambda e: e.path)


def write_manifest(out: Path, rel: Release, target: Target | None) -> fw.Manifest:
    now = int(time.time() * 1000)
    comp = fw.Compatibility(
        roles=rel.roles,
        hardware_models=rel.hardware_models,
        rauc_compatible=rel.rauc_compatible,
        min_agent_version=rel.min_agent_version,
        python=target.python if target else None,
        arch=target.arch if target else None,
    )
    m = fw.Manifest(
        kind=rel.kind,
        name=rel.name,
        version=rel.version,
        created_ms=now,
        expires_ms=now + int(rel.expires_days * DAY_MS),
        compatibility=comp,
        files=tuple(_entries(out / "files")),
        rollback_of=rel.rollback_of,
        notes=rel.notes,
    )
    data = fw.manifest_to_dict(m)
    fw.parse_manifest(data)  # the builder never writes what a device would refuse as malformed
    (out / MANIFEST).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return m


def _fresh(out_root: Path, release_id: str) -> Path:
    out = out_root / release_id
    if out.exists():
        shutil.rmtree(out)
    (out / "files").mkdir(parents=True)
    return out


def build_agent(rel: Release, target: Target, *, agent_dir: Path, protocol_dir: Path, out_root: Path) -> Path:
    """``<out_root>/agent-<version>/``: files/wheels/*.whl, files/agent.json, manifest.json."""
    fw.parse_version(rel.version)
    out = _fresh(out_root, f"agent-{rel.version}")
    wheels = out / "files" / "wheels"
    with tempfile.TemporaryDirectory(prefix="fw-own-") as own:
        tools.pip(
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            own,
            str(protocol_dir),
            str(agent_dir),
            what="building our wheels",
        )
        built = sorted(Path(own).glob("station_agent-*.whl"))
        if not built or f"-{rel.version}-" not in built[0].name:
            names = [p.name for p in built]
            raise CliError(
                f"the agent in {agent_dir} builds {names}, not version {rel.version}: bump its version"
            )
        what = f"collecting wheels for python {target.python} {target.arch}"
        argv = ["download", "--quiet", "--dest", str(wheels), "--find-links", own, *target.pip_args()]
        tools.pip(*argv, f"station-agent=={rel.version}", what=what)
    info = {
        "python": target.python,
        "arch": target.arch,
        "wheels": sorted(p.name for p in wheels.glob("*.whl")),
    }
    (out / "files" / "agent.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    write_manifest(out, rel, target)
    return out


def build_os(
    rel: Release, *, image: Path, cert: Path, key: Path, keyring: Path | None, out_root: Path
) -> Path:
    """``<out_root>/os-<version>/``: files/os.raucb (RAUC plain bundle of ``image``), manifest.json."""
    if not rel.rauc_compatible:
        raise CliError("an os release needs --compatible (RAUC's system.conf [system] compatible)")
    fw.parse_version(rel.version)
    out = _fresh(out_root, f"os-{rel.version}")
    with tempfile.TemporaryDirectory(prefix="fw-rauc-") as tmp:
        content = Path(tmp) / "content"
        content.mkdir()
        shutil.copyfile(image, content / "rootfs.img")
        (content / "manifest.raucm").write_text(
            f"[update]\ncompatible={rel.rauc_compatible}\nversion={rel.version}\n\n"
            "[bundle]\nformat=plain\n\n[image.rootfs]\nfilename=rootfs.img\n",
            encoding="utf-8",
        )
        tools.rauc_bundle(content, out / "files" / "os.raucb", cert=cert, key=key, keyring=keyring)
    write_manifest(out, rel, None)
    return out
