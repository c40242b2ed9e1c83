"""``python -m station_agent.content``: one sync job outside the agent (sideload, tests); events on stdout."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import List, Optional

from ..errors import CommandRejected
from ..state import StateStore
from .engine import ContentSettings, SyncEngine
from .events import JsonLinesEvents
from .http import HttpFetcher
from .job import JobBook, job_from_args
from .transfer import TransferSettings


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m station_agent.content", description=__doc__)
    p.add_argument("--root", required=True, help="content root (trusted-keys/, store/, bundles/)")
    p.add_argument("--state-db", required=True, help="state.db holding the job and its progress")
    p.add_argument("--args", required=True, help="content.sync arguments as JSON (with job_id)")
    p.add_argument("--stall-timeout", type=float, default=30.0)
    p.add_argument("--retries", type=int, default=5)
    p.add_argument("--backoff", type=float, default=2.0)
    p.add_argument("--progress-interval", type=float, default=10.0)
    opts = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    store = StateStore.open(Path(opts.state_db))
    settings = ContentSettings(
        root=Path(opts.root),
        progress_interval_s=opts.progress_interval,
        reserve_bytes=0,
        transfer=TransferSettings(
            stall_timeout_s=opts.stall_timeout, max_retries=opts.retries, retry_backoff_s=opts.backoff
        ),
    )
    engine = SyncEngine(settings=settings, book=JobBook(store), fetcher=HttpFetcher(), sink=JsonLinesEvents())
    try:
        job = job_from_args(json.loads(opts.args), "cli")
    except CommandRejected as exc:
        sys.stderr.write(f"rejected: {exc}\n")
        return 2
    engine.submit(job)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    current = JobBook(store).get(job.job_id)
    if current is not None and current.state in ("queued", "running", "paused"):
        engine.run_job(current, stop)
    final = JobBook(store).get(job.job_id)
    store.close()
    return 0 if final is not None and final.state == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
