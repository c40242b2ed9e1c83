"""The device's content tree: chunk spool, installed versions, seeds (dedup) and atomic activation.

{root}/store/{h[0:4]}/{h}            downloaded raw chunks (content-addressed; fsynced, renamed)
{root}/store/{h[0:4]}/{h}.part       the chunk being downloaded (stored bytes; resumed with Range)
{root}/bundles/{b}/versions/{v}/...  installed files, read-only
{root}/bundles/{b}/manifests/{v}.json  verified manifest document of each installed version
{root}/bundles/{b}/current           symlink → versions/{v}, replaced by rename (atomic)
{root}/trusted-keys/{key_id}.pub     pinned signing keys (provisioned out of band)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

from station_protocol.content import (
    ChunkRef,
    FileEntry,
    Manifest,
    manifest_to_dict,
    parse_manifest,
    split_document,
)

Seed = Tuple[Path, int, int]  # file, offset, size
READ = 1024 * 1024


def fsync_dir(path: Path) -> None:
    fd = os.open(str(path), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ContentTree:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.keys_dir = root / "trusted-keys"

    # -- chunk spool -------------------------------------------------------------------------------
    def chunk_path(self, digest: str) -> Path:
        return self.root / "store" / digest[:4] / digest

    def part_path(self, digest: str) -> Path:
        return self.root / "store" / digest[:4] / f"{digest}.part"

    def has_chunk(self, digest: str) -> bool:
        return self.chunk_path(digest).is_file()

    def commit_chunk(self, digest: str, raw: bytes) -> None:
        """Write a verified chunk durably: tmp, fsync, rename, fsync the directory."""
        path = self.chunk_path(digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{digest}.tmp")
        with tmp.open("wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)

    def drop_chunks(self, digests: List[str]) -> None:
        for digest in digests:
            self.chunk_path(digest).unlink(missing_ok=True)
            self.part_path(digest).unlink(missing_ok=True)

    # -- installed versions ------------------------------------------------------------------------
    def bundle_dir(self, bundle: str) -> Path:
        return self.root / "bundles" / bundle

    def current(self, bundle: str) -> Optional[str]:
        link = self.bundle_dir(bundle) / "current"
        try:
            return Path(os.readlink(link)).name
        except OSError:
            return None

    def installed(self) -> Iterator[Tuple[str, str]]:
        base = self.root / "bundles"
        if not base.is_dir():
            return
        for bdir in sorted(base.iterdir()):
            vdir = bdir / "versions"
            if vdir.is_dir():
                for v in sorted(vdir.iterdir()):
                    yield bdir.name, v.name

    def manifest(self, bundle: str, version: str) -> Optional[Manifest]:
        mdir = self.bundle_dir(bundle) / "manifests"
        index = mdir / f"{version}.index.json"
        if index.is_file():  # format 2: the manifest rebuilt from verified index objects
            try:
                return parse_manifest(json.loads(index.read_bytes()))
            except (OSError, ValueError):
                return None
        path = mdir / f"{version}.json"
        try:
            body, _ = split_document(path.read_bytes())
            return parse_manifest(body)
        except (OSError, ValueError):
            return None

    def seeds(self) -> Tuple[Dict[str, Seed], Dict[str, Path]]:
        """Chunks and whole files available in installed versions: ({chunk: seed}, {file sha: path})."""
        chunks: Dict[str, Seed] = {}
        files: Dict[str, Path] = {}
        for bundle, version in self.installed():
            m = self.manifest(bundle, version)
            if m is None:
                continue
            base = self.bundle_dir(bundle) / "versions" / version
            for entry in m.files:
                files.setdefault(entry.sha256, base / entry.path)
                offset = 0
                for ref in entry.chunks:
                    chunks.setdefault(ref.sha256, (base / entry.path, offset, ref.size))
                    offset += ref.size
        return chunks, files

    # -- assembly and activation ------------------------------------------------------------------
    def assemble(
        self, m: Manifest, document: bytes, seeds: Dict[str, Seed], seed_files: Dict[str, Path]
    ) -> Path:
        """Build the version in a staging directory, fsync everything, then rename it into versions/."""
        bdir = self.bundle_dir(m.bundle)
        staging = bdir / f".staging-{m.version}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for entry in m.files:
            target = staging / entry.path
            target.parent.mkdir(parents=True, exist_ok=True)
            if not self._link_whole(seed_files.get(entry.sha256), target):
                self._write_file(entry, target, seeds)
            os.chmod(target, (entry.mode & 0o555) | 0o444)
        for dirpath, _dirs, _files in os.walk(staging):
            fsync_dir(Path(dirpath))
        (bdir / "manifests").mkdir(exist_ok=True)
        if _is_snapshot(document):
            (bdir / "manifests" / f"{m.version}.snap").write_bytes(document)
            body = json.dumps(manifest_to_dict(m), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            (bdir / "manifests" / f"{m.version}.index.json").write_text(body, encoding="utf-8")
        else:
            (bdir / "manifests" / f"{m.version}.json").write_bytes(document)
        final = bdir / "versions" / m.version
        final.parent.mkdir(exist_ok=True)
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
        fsync_dir(final.parent)
        return final

    @staticmethod
    def _link_whole(source: Optional[Path], target: Path) -> bool:
        if source is None or not source.is_file():
            return False
        try:
            os.link(source, target)
        except OSError:
            return False
        return True

    def _write_file(self, entry: FileEntry, target: Path, seeds: Dict[str, Seed]) -> None:
        whole = hashlib.sha256()
        with target.open("wb") as out:
            for ref in entry.chunks:
                raw = self.read_chunk(ref, seeds)
                whole.update(raw)
                out.write(raw)
            out.flush()
            os.fsync(out.fileno())
        if whole.hexdigest() != entry.sha256:
            raise OSError(f"{entry.path}: assembled file does not match its sha256")

    def read_base(self, digest: str, seeds: Dict[str, Seed]) -> Optional[bytes]:
        """Raw bytes of a local chunk or spooled object (unverified: a patch result is hash-checked)."""
        path = self.chunk_path(digest)
        if path.is_file():
            return path.read_bytes()
        if digest not in seeds:
            return None
        src, offset, size = seeds[digest]
        with src.open("rb") as fh:
            fh.seek(offset)
            return fh.read(size)

    def read_chunk(self, ref: ChunkRef, seeds: Dict[str, Seed]) -> bytes:
        """A chunk's raw bytes from the spool or a seed file, verified against its hash."""
        path = self.chunk_path(ref.sha256)
        if path.is_file():
            raw = path.read_bytes()
        else:
            src, offset, size = seeds[ref.sha256]
            with src.open("rb") as fh:
                fh.seek(offset)
                raw = fh.read(size)
        if hashlib.sha256(raw).hexdigest() != ref.sha256:
            raise OSError(f"local chunk {ref.sha256} is corrupt")
        return raw

    def activate(self, bundle: str, version: str) -> Optional[str]:
        """Point ``current`` at the version by rename; keep the one it replaces, drop older ones."""
        bdir = self.bundle_dir(bundle)
        previous = self.current(bundle)
        tmp = bdir / "current.tmp"
        tmp.unlink(missing_ok=True)
        os.symlink(f"versions/{version}", tmp)
        os.replace(tmp, bdir / "current")
        fsync_dir(bdir)
        keep = {version, previous}
        for _b, v in [item for item in self.installed() if item[0] == bundle]:
            if v not in keep:
                self._remove_version(bundle, v)
        return previous if previous != version else None

    def _remove_version(self, bundle: str, version: str) -> None:
        vdir = self.bundle_dir(bundle) / "versions" / version
        for dirpath, dirs, _files in os.walk(vdir):
            for d in dirs:
                os.chmod(Path(dirpath) / d, 0o700)  # only to delete it
        shutil.rmtree(vdir, ignore_errors=True)
        for suffix in (".json", ".snap", ".index.json"):
            (self.bundle_dir(bundle) / "manifests" / f"{version}{suffix}").unlink(missing_ok=True)

    def status(self) -> Dict[str, Dict[str, Optional[str]]]:
        out: Dict[str, Dict[str, Optional[str]]] = {}
        for bundle, _v in self.installed():
            cur = self.current(bundle)
            others = [v for b, v in self.installed() if b == bundle and v != cur]
            out[bundle] = {"active": cur, "previous": others[-1] if others else None}
        return out


def _is_snapshot(document: bytes) -> bool:
    try:
        return "snapshot" in json.loads(document)
    except ValueError:
        return False


def read_json(path: Path) -> object:
    return json.loads(path.read_text(encoding="utf-8"))
