"""The real ingest runtime as a child process (``python -m tests.integration.ingest_child``), configured
by ``STATION_*`` variables like ``station-controller serve --only ingest``: for tests that kill -9 it.

Writes ``ready`` to stdout once connected; SIGTERM stops it cleanly.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time

from station_controller.db import make_engine, make_session_factory
from station_controller.ingest.runtime import build_ingest
from station_controller.settings import Settings


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = Settings()  # type: ignore[call-arg]  # from STATION_* variables
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    engine = make_engine(settings.database_url)
    runtime = build_ingest(settings, make_session_factory(engine))
    runtime.start()
    deadline = time.monotonic() + 60
    while not runtime.ready() and time.monotonic() < deadline:
        time.sleep(0.05)
    sys.stdout.write("ready\n" if runtime.ready() else "not ready\n")
    sys.stdout.flush()
    stop.wait()
    runtime.stop()
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
