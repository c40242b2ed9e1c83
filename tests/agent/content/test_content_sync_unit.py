"""Sync engine rules with a fake HTTP fetcher: 404 bounded, budget, disk, downgrade, windows, token bucket."""

from __future__ import annotations

import io
import json
import random
import shutil
import threading
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

from station_agent.content.engine import ContentSettings, SyncEngine
from station_agent.content.job import JobBook, job_from_args
from station_agent.content.pacing import TokenBucket, parse_window
from station_agent.content.transfer import TransferSettings
from station_agent.errors import CommandRejected
from station_agent.state import StateStore
from station_controller.content import signing
from station_controller.content.offline import publish_dir
from station_controller.content.store import ChunkStore


class FakeBody:
    def __init__(self, status: int, data: bytes) -> None:
        self.status = status
        self.length: Optional[int] = len(data)
        self.retry_after: Optional[str] = None
        self._io = io.BytesIO(data)

    def read(self, size: int) -> bytes:
        return self._io.read(size)

    def close(self) -> None:
        pass


class StoreFetcher:
    """Serves a ChunkStore directory like a static server; ``missing`` paths answer 404."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.missing: set[str] = set()
        self.calls: List[Tuple[str, int]] = []

    def open(self, url: str, *, offset: int = 0, timeout_s: float, end: Optional[int] = None) -> FakeBody:
        path = url.split("://", 1)[1].split("/", 1)[1]
        self.calls.append((path, offset))
        target = self.root / path
        if path in self.missing or not target.is_file():
            return FakeBody(404, b"")
        data = target.read_bytes()
        return FakeBody(206 if offset else 200, data[offset:])


class Sink:
    def __init__(self) -> None:
        self.events: List[Tuple[str, Dict[str, Any]]] = []

    def emit(self, name: str, severity: str, detail: Dict[str, Any]) -> None:
        self.events.append((name, detail))

    def last(self) -> Tuple[str, Dict[str, Any]]:
        return self.events[-1]


@pytest.fixture
def setup(tmp_path: Path) -> Dict[str, Any]:
    key_dir = tmp_path / "keys"
    key_id, _ = signing.create_key(key_dir)
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.bin").write_bytes(random.Random(1).randbytes(400_000))
    store = ChunkStore(tmp_path / "store")
    publish_dir(src, store=store, key_dir=key_dir, key_id=key_id, bundle="b", version="v2", seq=2)
    root = tmp_path / "dev"
    (root / "trusted-keys").mkdir(parents=True)
    shutil.copy(key_dir / f"{key_id}.pub", root / "trusted-keys")
    fetcher = StoreFetcher(store.root)
    sink = Sink()
    state = StateStore.open(tmp_path / "state.db")
    settings = ContentSettings(root=root, reserve_bytes=0, transfer=TransferSettings(retry_backoff_s=0.0))
    engine = SyncEngine(settings=settings, book=JobBook(state), fetcher=fetcher, sink=sink)
    return {"engine": engine, "fetcher": fetcher, "sink": sink, "store": store, "key_dir": key_dir,
            "key_id": key_id, "src": src, "root": root, "tmp": tmp_path}  # fmt: skip


def _run(s: Dict[str, Any], **args: Any) -> Tuple[str, Dict[str, Any]]:
    base = {"job_id": f"j{len(s['sink'].events)}", "bundle": "b", "version": "v2",
            "manifest_url": "http://o/bundles/b/v2.json", "budget_bytes": 10_000_000}  # fmt: skip
    base.update(args)
    job = job_from_args(base, "cmd")
    s["engine"].submit(job)
    s["engine"].run_job(job, threading.Event())
    sink: Sink = s["sink"]
    return sink.last()


def test_a_404_chunk_fails_after_bounded_attempts(setup: Dict[str, Any]) -> None:
    manifest = json.loads(setup["store"].manifest_path("b", "v2").read_bytes())["manifest"]
    digest = manifest["files"][0]["chunks"][1][0]
    setup["fetcher"].missing.add(f"chunks/{digest[:4]}/{digest}")
    name, detail = _run(setup)
    assert (name, detail["reason"]) == ("content.failed", "not_found")
    asked = [p for p, _ in setup["fetcher"].calls if p.endswith(digest)]
    assert len(asked) == TransferSettings().max_404


def test_budget_too_small_is_refused_before_any_chunk(setup: Dict[str, Any]) -> None:
    name, detail = _run(setup, budget_bytes=50_000)
    assert (name, detail["reason"]) == ("content.failed", "budget_exceeded")
    assert not [p for p, _ in setup["fetcher"].calls if p.startswith("chunks/")]


def test_disk_space_checked_first(setup: Dict[str, Any]) -> None:
    eng: SyncEngine = setup["engine"]
    eng.settings = ContentSettings(root=setup["root"], reserve_bytes=1 << 60)
    name, detail = _run(setup)
    assert (name, detail["reason"]) == ("content.failed", "disk_space")


def test_downgrade_refused_then_same_content_reused(setup: Dict[str, Any]) -> None:
    assert _run(setup)[0] == "content.done"
    publish_dir(setup["src"], store=setup["store"], key_dir=setup["key_dir"], key_id=setup["key_id"],
                bundle="b", version="v1", seq=1)  # fmt: skip
    name, detail = _run(setup, version="v1", manifest_url="http://o/bundles/b/v1.json")
    assert (name, detail["reason"]) == ("content.failed", "downgrade")
    name, detail = _run(setup, version="v1", manifest_url="http://o/bundles/b/v1.json", allow_downgrade=True)
    assert name == "content.done"
    assert detail["bytes_reused"] == 400_000
    assert detail["bytes_wire"] < 2000  # the manifest only: whole files are hard-linked from v2


def test_bad_arguments_are_rejected() -> None:
    good = {"bundle": "b", "version": "v", "manifest_url": "http://o/x.json", "budget_bytes": 1}
    for bad in (
        {"budget_bytes": 0},
        {"bundle": "../x"},
        {"extra": 1},
        {"window": {"start": "25:00", "end": "01:00"}},
    ):
        with pytest.raises(CommandRejected):
            job_from_args({**good, **bad}, "c")


def test_daily_window_across_midnight_in_local_time() -> None:
    w = parse_window({"start": "22:00", "end": "06:00", "utc_offset_min": 480}, None)
    day = 20000 * 86400  # a UTC midnight
    assert w.is_open(day + 15 * 3600)  # 23:00 local
    assert not w.is_open(day + 4 * 3600)  # 12:00 local
    assert w.next_open(day + 4 * 3600) == day + 14 * 3600
    assert w.closes_at(day + 15 * 3600) == day + 22 * 3600  # 06:00 local


def test_token_bucket_paces_to_the_rate() -> None:
    now = [0.0]
    waited: List[float] = []

    class Stop(threading.Event):
        def wait(self, timeout: Optional[float] = None) -> bool:
            waited.append(timeout or 0.0)
            now[0] += timeout or 0.0
            return False

    bucket = TokenBucket(800_000, clock=lambda: now[0])  # 100 kB/s
    for _ in range(100):
        bucket.take(10_000, Stop())
    assert 9.0 <= now[0] <= 10.0  # 1 MB at 100 kB/s, minus the first burst
