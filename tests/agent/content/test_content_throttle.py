"""Content sync against a real HTTP server that answers 429 with Retry-After: it waits and finishes.

The server (http.server on 127.0.0.1) serves a real ChunkStore; the first answers to the manifest and to
chunk requests are 429 (Retry-After as seconds and as an HTTP date). The engine runs with the real
HttpFetcher and an injected wait, so the test records the delays instead of sleeping them.
"""

from __future__ import annotations

import random
import shutil
import threading
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from station_agent.content.engine import ContentSettings, SyncEngine
from station_agent.content.http import HttpFetcher
from station_agent.content.job import JobBook, job_from_args
from station_agent.content.transfer import TransferSettings
from station_agent.state import StateStore
from station_controller.content import signing
from station_controller.content.offline import publish_dir
from station_controller.content.store import ChunkStore

NOW = 1_800_000_000.0  # the injected wall clock (epoch seconds) that Retry-After dates are read against


class ThrottlingOrigin:
    """Static files from ``root``; ``refusals`` lists (path prefix, Retry-After) answers to give first."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.refusals: List[Tuple[str, str]] = []
        self.log: List[Tuple[str, int]] = []
        origin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                path = self.path.lstrip("/")
                refusal = next((r for r in origin.refusals if path.startswith(r[0])), None)
                if refusal is not None:
                    origin.refusals.remove(refusal)
                    origin.log.append((path, 429))
                    self._send(429, b'{"error": "rate_limited"}', {"Retry-After": refusal[1]})
                    return
                origin.log.append((path, 200))
                self._send(200, (origin.root / path).read_bytes(), {})

            def _send(self, status: int, body: bytes, headers: Dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def origin(tmp_path: Path) -> Iterator[Tuple[ThrottlingOrigin, Path]]:
    key_dir = tmp_path / "keys"
    key_id, _ = signing.create_key(key_dir)
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.bin").write_bytes(random.Random(7).randbytes(300_000))
    store = ChunkStore(tmp_path / "store")
    publish_dir(src, store=store, key_dir=key_dir, key_id=key_id, bundle="b", version="v1", seq=1)
    device_root = tmp_path / "dev"
    (device_root / "trusted-keys").mkdir(parents=True)
    shutil.copy(key_dir / f"{key_id}.pub", device_root / "trusted-keys")
    served = ThrottlingOrigin(store.root)
    thread = threading.Thread(target=served.server.serve_forever, daemon=True)
    thread.start()
    yield served, device_root
    served.server.shutdown()
    served.server.server_close()
    thread.join(5)


class Recorder:
    def __init__(self) -> None:
        self.events: List[Tuple[str, Dict[str, Any]]] = []
        self.delays: List[float] = []

    def emit(self, name: str, severity: str, detail: Dict[str, Any]) -> None:
        self.events.append((name, detail))

    def wait(self, seconds: float) -> bool:
        self.delays.append(seconds)
        return False


def test_429_with_retry_after_is_waited_out_and_the_sync_finishes(
    origin: Tuple[ThrottlingOrigin, Path], tmp_path: Path
) -> None:
    served, device_root = origin
    served.refusals += [
        ("bundles/", "5"),
        ("chunks/", formatdate(NOW + 30, usegmt=True)),
        ("chunks/", "2"),
    ]
    rec = Recorder()
    state = StateStore.open(tmp_path / "state.db")
    fetcher = HttpFetcher()
    # max_retries=1: one counted failure would fail the job, so passing proves 429s are not counted
    transfer = TransferSettings(retry_backoff_s=0.01, max_retries=1, throttle_max_s=600.0)
    engine = SyncEngine(
        settings=ContentSettings(root=device_root, reserve_bytes=0, transfer=transfer),
        book=JobBook(state),
        fetcher=fetcher,
        sink=rec,
        wall=lambda: NOW,
        wait=rec.wait,
    )
    job = job_from_args(
        {
            "job_id": "j1",
            "bundle": "b",
            "version": "v1",
            "manifest_url": f"{served.url}/bundles/b/v1.json",
            "budget_bytes": 10_000_000,
        },
        "cmd-1",
    )
    engine.submit(job)
    engine.run_job(job, threading.Event())
    fetcher.close()
    state.close()

    assert rec.events[-1][0] == "content.done", rec.events[-1]
    assert [status for _, status in served.log].count(429) == 3
    assert served.refusals == []
    assert len(rec.delays) == 3
    # at least the server's Retry-After, plus at most retry_backoff_s of jitter
    assert 5.0 <= rec.delays[0] <= 5.01
    assert 30.0 <= rec.delays[1] <= 30.01
    assert 2.0 <= rec.delays[2] <= 2.02
    assert (device_root / "bundles" / "b" / "current" / "a.bin").read_bytes() == (
        tmp_path / "src" / "a.bin"
    ).read_bytes()
