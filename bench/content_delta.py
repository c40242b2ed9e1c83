"""Bytes on the wire: our sync (format 2) vs ``rsync`` (daemon, with and without -z) vs ``casync``.

Every tool goes through the same kind of counting TCP proxy in the same run, so each figure is every
byte both directions (payload, protocol headers; not TCP/IP headers). Each synced tree is compared
with the source byte for byte. Run: ``.venv/bin/python bench/content_delta.py``
(``--big-mib 1024`` for the 1 GiB file of the issue; default 256 MiB to keep the run short).
"""

from __future__ import annotations

import argparse
import contextlib
import filecmp
import json
import platform
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from station_agent.content.engine import ContentSettings, SyncEngine  # noqa: E402
from station_agent.content.http import HttpFetcher  # noqa: E402
from station_agent.content.job import JobBook, job_from_args  # noqa: E402
from station_agent.state import StateStore  # noqa: E402
from station_controller.content import signing  # noqa: E402
from station_controller.content.offline import publish_dir  # noqa: E402
from station_controller.content.store import ChunkStore  # noqa: E402
from tests.integration.content.rangeserver import RangeServer  # noqa: E402

WORDS = [
    "课程",
    "lesson",
    "video",
    "数学",
    "math",
    "the",
    "of",
    "and",
    "学习",
    "village",
    "station",
    "teacher",
    "语文",
    "reading",
    "page",
]


class CountingProxy(threading.Thread):
    """TCP proxy to ``target`` counting bytes in both directions."""

    def __init__(self, target: tuple[str, int]) -> None:
        super().__init__(daemon=True)
        self.target = target
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.bytes = 0
        self.lock = threading.Lock()

    def run(self) -> None:
        while True:
            client, _ = self.sock.accept()
            upstream = socket.create_connection(self.target)
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                with self.lock:
                    self.bytes += len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def take(self) -> int:
        time.sleep(0.2)  # let the pipes drain
        with self.lock:
            value, self.bytes = self.bytes, 0
        return value


def html(rng: random.Random, size: int) -> bytes:
    out = bytearray(b"<html><body>")
    while len(out) < size:
        out += (
            f"<p class='c{rng.randint(0, 9)}'>".encode()
            + " ".join(rng.choices(WORDS, k=12)).encode()
            + b"</p>\n"
        )
    return bytes(out[:size])


def make_corpus(root: Path, big_mib: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    (root / "video").mkdir(parents=True)
    (root / "lessons").mkdir()
    for i in range(12):
        (root / "video" / f"v{i:02d}.mp4").write_bytes(rng.randbytes(rng.randint(4, 8) * 1024 * 1024))
    for i in range(300):
        (root / "lessons" / f"l{i:03d}.html").write_bytes(html(rng, rng.randint(8, 80) * 1024))
    with (root / "archive.bin").open("wb") as fh:
        for _ in range(big_mib):
            fh.write(rng.randbytes(1024 * 1024))


def _own(path: Path) -> None:
    """Break a hard link before editing (the working copy shares inodes with the base)."""
    data = path.read_bytes()
    path.unlink()
    path.write_bytes(data)


def _edit(path: Path, fn: Callable[[bytes], bytes]) -> None:
    data = path.read_bytes()
    path.unlink()
    path.write_bytes(fn(data))


def mutations(rng: random.Random) -> dict[str, Callable[[Path], None]]:  # noqa: C901 - one closure per row
    def replace_5pct(d: Path) -> None:
        files = sorted(p for p in d.rglob("*") if p.is_file() and p.name != "archive.bin")
        for p in rng.sample(files, max(1, len(files) * 5 // 100)):
            size = p.stat().st_size
            p.unlink()
            p.write_bytes(html(rng, size) if p.suffix == ".html" else rng.randbytes(size))

    def insert_10(d: Path) -> None:
        def fn(b: bytes) -> bytes:
            for off in sorted(rng.sample(range(len(b)), 10), reverse=True):
                b = b[:off] + rng.randbytes(1024) + b[off:]
            return b

        _edit(d / "archive.bin", fn)

    def delete_64k(d: Path) -> None:
        _edit(d / "archive.bin", lambda b: b[: len(b) // 2] + b[len(b) // 2 + 65536 :])

    def append_5pct(d: Path) -> None:
        _edit(d / "archive.bin", lambda b: b + rng.randbytes(len(b) // 20))

    def rename_20pct(d: Path) -> None:
        files = sorted(p for p in d.rglob("*") if p.is_file())
        for p in rng.sample(files, len(files) // 5):
            p.rename(p.with_name("renamed-" + p.name))

    def two_bytes(d: Path) -> None:
        _edit(
            d / "archive.bin", lambda b: b[:1000003] + bytes([b[1000003] ^ 1, b[1000004] ^ 1]) + b[1000005:]
        )

    def replace_video(d: Path) -> None:
        p = d / "video" / "v03.mp4"
        size = p.stat().st_size
        p.unlink()
        p.write_bytes(rng.randbytes(size))

    def reencode_intro(d: Path) -> None:
        def fn(b: bytes) -> bytes:
            intro = len(b) // 10
            return rng.randbytes(intro * 6 // 5) + b[intro:]  # a new, longer intro; the rest re-muxed as is

        _edit(d / "video" / "v05.mp4", fn)

    def html_one_line(d: Path) -> None:
        for p in sorted((d / "lessons").glob("*.html")):

            def fn(b: bytes) -> bytes:
                at = b.find(b"</p>\n", len(b) // 2) + 5
                return (
                    b[:at]
                    + b"<p class='c1'>"
                    + " ".join(rng.choices(WORDS, k=12)).encode()
                    + b"</p>\n"
                    + b[at:]
                )

            _edit(p, fn)

    return {
        "no change": lambda d: None,
        "5 % of files replaced": replace_5pct,
        "1 KiB inserted at 10 places (big file)": insert_10,
        "64 KiB deleted (big file)": delete_64k,
        "5 % appended (big file)": append_5pct,
        "20 % of files renamed": rename_20pct,
        "2-byte edit (big file)": two_bytes,
        "a video fully replaced": replace_video,
        "lesson video re-encoded with a new intro": reencode_intro,
        "300 HTML pages, one line added to each": html_one_line,
    }


def rsync_daemon(work: Path, module_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    conf = work / "rsyncd.conf"
    conf.write_text(f"use chroot = no\nuid = root\ngid = root\n[new]\npath = {module_dir}\nread only = yes\n")
    proc = subprocess.Popen(  # noqa: S603 - fixed argv
        ["rsync", "--daemon", "--no-detach", f"--config={conf}", f"--port={port}", "--address=127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_port(port)
    return proc, port


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def run_rsync(base: Path, proxy_port: int, work: Path, compress: bool) -> tuple[int, int]:
    dst = work / "rsync-dst"
    shutil.rmtree(dst, ignore_errors=True)
    subprocess.run(["cp", "-al", str(base), str(dst)], check=True)  # rsync replaces files by rename
    argv = ["rsync", "-a", "--delete", "--no-whole-file", "--stats"] + (["-z"] if compress else [])
    out = subprocess.run(  # noqa: S603 - fixed argv
        [*argv, f"rsync://127.0.0.1:{proxy_port}/new/", f"{dst}/"], check=True, capture_output=True, text=True
    ).stdout
    sent = int(re.search(r"Total bytes sent: ([\d,]+)", out).group(1).replace(",", ""))  # type: ignore[union-attr]
    recv = int(re.search(r"Total bytes received: ([\d,]+)", out).group(1).replace(",", ""))  # type: ignore[union-attr]
    return sent + recv, 0


def run_ours(device_base: Path, url: str, version: str, work: Path) -> dict[str, Any]:
    device = work / "device"
    shutil.rmtree(device, ignore_errors=True)
    subprocess.run(["cp", "-al", str(device_base), str(device)], check=True)
    state = StateStore.open(work / f"state-{version}.db")

    class Sink:
        last: dict[str, Any] = {}

        def emit(self, name: str, severity: str, detail: dict[str, Any]) -> None:
            if name in ("content.done", "content.failed"):
                Sink.last = {"name": name, **detail}

    engine = SyncEngine(
        settings=ContentSettings(root=device, reserve_bytes=0),
        book=JobBook(state),
        fetcher=HttpFetcher(),
        sink=Sink(),
    )
    job = job_from_args(
        {"bundle": "bench", "version": version, "manifest_url": f"{url}/bundles/bench/{version}.snap",
         "budget_bytes": 1 << 40, "job_id": version},
        version,
    )  # fmt: skip
    engine.submit(job)
    engine.run_job(job, threading.Event())
    state.close()
    if Sink.last.get("name") != "content.done":
        raise RuntimeError(f"sync of {version} failed: {Sink.last}")
    return Sink.last


def same_tree(a: Path, b: Path) -> bool:
    """Byte-for-byte equal regular files, same relative paths."""

    def files(root: Path) -> dict[str, Path]:
        return {
            p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file() and not p.is_symlink()
        }

    fa, fb = files(a), files(b)
    if fa.keys() != fb.keys():
        return False
    return all(filecmp.cmp(fa[k], fb[k], shallow=False) for k in fa)


def run_casync(work: Path, new: Path, base: Path, version: str, url: str) -> Path:
    """``casync make`` of the new tree into one store, then ``casync extract --seed`` over HTTP."""
    ca = work / "ca"
    ca.mkdir(exist_ok=True)
    subprocess.run(  # noqa: S603 - fixed argv
        ["casync", "make", f"--store={ca}/store.castr", f"{ca}/{version}.caidx", str(new)],
        check=True, capture_output=True,
    )  # fmt: skip
    dst = work / "ca-dst"
    shutil.rmtree(dst, ignore_errors=True)
    argv = ["casync", "extract", f"--store={url}/store.castr/", f"--seed={base}"]
    subprocess.run([*argv, f"{url}/{version}.caidx", str(dst)], check=True, capture_output=True)  # noqa: S603
    return dst


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--big-mib", type=int, default=256)
    parser.add_argument("--json", help="also write the results here")
    opts = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="content-bench-"))
    try:
        return _bench(work, opts.big_mib, opts.json)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _serve(root: Path) -> tuple[CountingProxy, str]:
    server = RangeServer(("127.0.0.1", 0), root)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proxy = CountingProxy(("127.0.0.1", server.server_address[1]))
    proxy.start()
    return proxy, f"http://127.0.0.1:{proxy.port}"


def _bench(work: Path, big_mib: int, json_out: str | None) -> int:
    base = work / "base"
    make_corpus(base, big_mib)
    total = sum(p.stat().st_size for p in base.rglob("*") if p.is_file())
    key_dir = work / "keys"
    key_id, _ = signing.create_key(key_dir)
    store = ChunkStore(work / "store")
    base_m = publish_dir(
        base, store=store, key_dir=key_dir, key_id=key_id, bundle="bench", version="base", seq=1
    )
    http_proxy, url = _serve(store.root)
    (work / "ca").mkdir()
    ca_proxy, ca_url = _serve(work / "ca")
    device_base = work / "device-base"
    (device_base / "trusted-keys").mkdir(parents=True)
    shutil.copy(key_dir / f"{key_id}.pub", device_base / "trusted-keys")
    run_ours(device_base, url, "base", work)
    shutil.rmtree(device_base)
    (work / "device").rename(device_base)
    http_proxy.take()
    rng = random.Random(11)
    rows = []
    sys.stdout.write(
        f"corpus {total / 2**20:.0f} MiB ({big_mib} MiB big file); "
        f"{platform.processor() or platform.machine()}\n"
    )
    for seq, (name, mutate) in enumerate(mutations(rng).items(), start=2):
        new = work / "new"
        shutil.rmtree(new, ignore_errors=True)
        subprocess.run(["cp", "-al", str(base), str(new)], check=True)
        mutate(new)
        version = f"m{seq}"
        before = {d: _dir_bytes(store.root / d) for d in ("chunks", "objects", "packs")}
        t0 = time.monotonic()
        publish_dir(
            new, store=store, key_dir=key_dir, key_id=key_id, bundle="bench", version=version, seq=seq,
            delta_from=[base_m],
        )  # fmt: skip
        publish_s = time.monotonic() - t0
        grown = {d: _dir_bytes(store.root / d) - v for d, v in before.items()}
        ours = run_ours(device_base, url, version, work)
        ours_wire = http_proxy.take()
        ok_ours = same_tree(work / "device" / "bundles" / "bench" / "current", new)
        ca_proxy.take()
        ca_dst = run_casync(work, new, base, version, ca_url)
        ca_wire = ca_proxy.take()
        ok_ca = same_tree(ca_dst, new)
        daemon, port = rsync_daemon(work, new)
        proxy = CountingProxy(("127.0.0.1", port))
        proxy.start()
        try:
            r_stats, _ = run_rsync(base, proxy.port, work, compress=False)
            r_wire = proxy.take()
            ok_r = same_tree(work / "rsync-dst", new)
            rz_stats, _ = run_rsync(base, proxy.port, work, compress=True)
            rz_wire = proxy.take()
            ok_rz = same_tree(work / "rsync-dst", new)
        finally:
            daemon.terminate()
            daemon.wait()
        row = {"change": name, "ours": ours_wire, "ours_bytes_wire": ours["bytes_wire"], "rsync": r_wire,
               "rsync_stats": r_stats, "rsync_z": rz_wire, "rsync_z_stats": rz_stats, "casync": ca_wire,
               "identical": {"ours": ok_ours, "rsync": ok_r, "rsync_z": ok_rz, "casync": ok_ca},
               "publish_s": round(publish_s, 2), "store_growth": grown}  # fmt: skip
        rows.append(row)
        ok = "yes" if ours_wire <= min(r_wire, rz_wire) else "NO"
        same = "ok" if all(row["identical"].values()) else f"MISMATCH {row['identical']}"
        sys.stdout.write(
            f"{name:<42} ours {ours_wire:>12,}  rsync {r_wire:>12,}  rsync -z {rz_wire:>12,}  "
            f"casync {ca_wire:>12,}  ours<=both {ok}  trees {same}  publish {publish_s:.1f}s  "
            f"new chunks {grown['chunks']:,} objects {grown['objects']:,} packs {grown['packs']:,}\n"
        )
        sys.stdout.flush()
    if json_out:
        Path(json_out).write_text(
            json.dumps(
                {"total_bytes": total, "big_mib": big_mib, "machine": _machine(), "rows": rows}, indent=1
            )
        )
    return 0


def _machine() -> dict[str, Any]:
    return {"cpu": platform.processor() or platform.machine(), "nproc": __import__("os").cpu_count(),
            "python": platform.python_version(), "kernel": platform.release()}  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
