"""``stationctl content``: publish a directory as a bundle version, list bundles/versions, diff versions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import httpx
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

from .chunker import DEFAULT_CHUNKING, Chunk, chunk_file, walk
from .client import CliError, api, checked

BATCH = 256  # chunks asked about / uploaded together (~16 MiB at 64 KiB average)


class Uploader:
    """Buffers chunks, asks the controller which it lacks, uploads only those."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client
        self._pending: dict[str, Chunk] = {}
        self.uploaded_bytes = 0
        self.reused_chunks = 0

    def __call__(self, chunk: Chunk) -> None:
        self._pending.setdefault(chunk.ref.sha256, chunk)
        if len(self._pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        reply = checked(
            self._client.post("/api/v1/content/chunks/missing", json={"hashes": list(self._pending)})
        )
        missing = set(reply["missing"])
        self.reused_chunks += len(self._pending) - len(missing)
        for digest in sorted(missing):
            chunk = self._pending[digest]
            checked(
                self._client.put(
                    f"/api/v1/content/chunks/{digest}",
                    content=chunk.stored,
                    headers={"X-Chunk-Size": str(chunk.ref.size), "Content-Type": "application/octet-stream"},
                )
            )
            self.uploaded_bytes += len(chunk.stored)
        self._pending.clear()


def _file_json(entry: Any) -> dict[str, Any]:
    return {
        "path": entry.path,
        "size": entry.size,
        "mode": entry.mode,
        "sha256": entry.sha256,
        "chunks": [[c.sha256, c.size, c.stored_size] for c in entry.chunks],
    }


def _publish(args: argparse.Namespace) -> int:
    root = Path(args.dir)
    if not root.is_dir():
        raise CliError(f"{root} is not a directory")
    files = walk(root)
    total = sum(p.stat().st_size for p, _ in files)
    entries = []
    with api(timeout_s=300) as client:
        uploader = Uploader(client)
        columns = (BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
        with Progress(*columns, disable=args.quiet) as bar:
            task = bar.add_task("chunking", total=total)
            for full, rel in files:
                entries.append(chunk_file(full, rel, sink=uploader))
                bar.update(task, advance=entries[-1].size)
            uploader.flush()
        ch = DEFAULT_CHUNKING
        body = {
            "version": args.version,
            "chunking": {"algo": ch.algo, "min": ch.min, "avg": ch.avg, "max": ch.max},
            "files": [_file_json(e) for e in entries],
        }
        info = checked(client.post(f"/api/v1/content/bundles/{args.name}/versions", json=body))
    sys.stdout.write(
        f"published {info['bundle']} {info['version']} (seq {info['seq']}): {info['file_count']} files, "
        f"{info['total_bytes']} bytes, {info['new_bytes']} new bytes vs previous; uploaded "
        f"{uploader.uploaded_bytes} bytes, reused {uploader.reused_chunks} chunks; "
        f"signed by {info['key_id']}\n"
        f"manifest: {info['manifest_url']}\n"
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    with api() as client:
        if args.name:
            rows = checked(client.get(f"/api/v1/content/bundles/{args.name}/versions"))
            sys.stdout.write(
                f"{'version':<20} {'seq':>4} {'files':>7} {'bytes':>14} {'new bytes':>14}  state\n"
            )
            for v in rows:
                state = "retired" if v["retired"] else "live"
                sys.stdout.write(
                    f"{v['version']:<20} {v['seq']:>4} {v['file_count']:>7} {v['total_bytes']:>14} "
                    f"{v['new_bytes']:>14}  {state}\n"
                )
        else:
            for b in checked(client.get("/api/v1/content/bundles")):
                sys.stdout.write(
                    f"{b['name']:<32} live versions {b['live_versions']}, latest seq {b['latest_seq']}\n"
                )
    return 0


def _diff(args: argparse.Namespace) -> int:
    with api() as client:
        d = checked(
            client.get(
                f"/api/v1/content/bundles/{args.name}/versions/{args.version}/diff",
                params={"against": args.against} if args.against else None,
            )
        )
    sys.stdout.write(
        f"{d['bundle']} {d['against']} -> {d['version']}: {d['new_bytes']} new bytes on the wire\n"
    )
    for key in ("added", "changed", "removed"):
        for path in d[key]:
            sys.stdout.write(f"  {key[0].upper()} {path}\n")
    for item in d["renamed"]:
        sys.stdout.write(f"  R {item['from']} -> {item['to']}\n")
    return 0


def register(sub: Any) -> None:
    content = sub.add_parser("content", help="content bundles: publish, list, diff")
    csub = content.add_subparsers(dest="content_command", required=True)
    pub = csub.add_parser("publish", help="chunk DIR, upload new chunks, publish a signed version")
    pub.add_argument("dir")
    pub.add_argument("--name", required=True, help="bundle name")
    pub.add_argument("--version", required=True, help="new version string")
    pub.add_argument("--quiet", action="store_true", help="no progress bar")
    pub.set_defaults(run=_publish)
    lst = csub.add_parser("list", help="bundles, or one bundle's versions")
    lst.add_argument("name", nargs="?")
    lst.set_defaults(run=_list)
    dif = csub.add_parser("diff", help="files and new bytes of VERSION vs the previous (or --against)")
    dif.add_argument("name")
    dif.add_argument("version")
    dif.add_argument("--against")
    dif.set_defaults(run=_diff)
