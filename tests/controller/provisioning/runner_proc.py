"""A controller stand-in for the restart test: runs the real JobRunner with GatedAction until killed."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from station_controller.db import make_engine, make_session_factory
from station_controller.provisioning.jobs.runner import JobRunner
from tests.controller.provisioning.fakes import GatedAction, make_prov_settings, registry_of


def main(data_dir: str, gate: str) -> None:
    settings = make_prov_settings(Path(data_dir))
    factory = make_session_factory(make_engine(settings.database_url))
    runner = JobRunner(factory, actions=registry_of(GatedAction(Path(gate))), settings=settings)
    runner.start()
    threading.Event().wait()  # until SIGKILL


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
