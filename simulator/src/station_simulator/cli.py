"""``station-sim``: simulate N stations against a broker, enrolling them through the controller if asked."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TextIO

from station_protocol.enrollment import EnrollResponse

from .config import SimulationConfig, WorkerStats
from .credentials import load_credentials, save_credentials, station_rows
from .enroll import enroll_fleet
from .errors import SimulatorError
from .runner import run_simulation

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="station-sim", description=__doc__)
    p.add_argument("--stations", type=int, required=True, help="number of simulated stations")
    p.add_argument(
        "--credentials", type=Path, help="JSON-lines EnrollResponse file (written after enrolling)"
    )
    p.add_argument("--controller", help="controller base URL, to enroll stations missing from --credentials")
    p.add_argument("--username", help="staff account for enrollment")
    p.add_argument("--password", help="staff password for enrollment")
    p.add_argument("--with-router", action="store_true", help="a router per station besides the STB")
    p.add_argument("--prefix", default="sim", help="station code / serial prefix (unique per fleet)")
    p.add_argument("--interval", type=float, default=30.0, help="telemetry period per device, seconds")
    p.add_argument("--processes", type=int, default=1, help="worker processes (0: in this process)")
    p.add_argument("--duration", type=float, help="stop after this many seconds (default: until Ctrl-C)")
    p.add_argument("--messages", type=int, help="stop each device after this many telemetry samples")
    p.add_argument("--disconnect-rate", type=float, default=0.0, help="abrupt drops per device per hour")
    p.add_argument("--connect-rate", type=float, default=500.0, help="new sessions per second per process")
    p.add_argument("--mqtt-host", help="override the broker host from the credentials")
    p.add_argument("--mqtt-port", type=int, help="override the broker port from the credentials")
    p.add_argument("--report-every", type=float, default=5.0, help="progress line period, seconds")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def _credentials(args: argparse.Namespace) -> list[EnrollResponse]:
    have = load_credentials(args.credentials) if args.credentials and args.credentials.exists() else []
    per_station = 2 if args.with_router else 1
    wanted = args.stations * per_station
    if len(have) >= wanted:
        return have[:wanted]
    if not args.controller:
        raise SimulatorError(
            f"need {wanted} credentials, have {len(have)}; pass --controller/--username/--password to enroll"
        )
    if not (args.username and args.password):
        raise SimulatorError("enrolling needs --username and --password of a staff account")
    rows = station_rows(args.stations, prefix=args.prefix, with_router=args.with_router)
    known = {c.device_id for c in have}
    fresh = enroll_fleet(
        url=args.controller,
        username=args.username,
        password=args.password,
        rows=rows[len(have) :],
        agent_version="sim-0.1.0",
    )
    creds = have + [c for c in fresh if c.device_id not in known]
    if args.credentials:
        save_credentials(args.credentials, creds)
    return creds


def _say(text: str, file: TextIO = sys.stdout, flush: bool = False) -> None:
    file.write(text + "\n")
    if flush:
        file.flush()


def _progress(stats: WorkerStats) -> None:
    _say(
        f"connected {stats.connected}/{stats.devices}  acked {stats.messages_acked}  "
        f"telemetry {stats.telemetry_acked}/{stats.telemetry_queued}  reconnects {stats.reconnects}  "
        f"drops {stats.drops_injected}  commands {stats.commands_answered}  "
        f"failures {stats.connect_failures}",
        file=sys.stderr,
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.interval <= 0 and args.messages is None:
        parser.error("--interval 0 (burst) needs --messages to say how many samples each device sends")
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        creds = _credentials(args)
    except SimulatorError as exc:
        _say(f"station-sim: {exc}", file=sys.stderr)
        return 2
    config = SimulationConfig(
        credentials=tuple(creds),
        interval_s=args.interval,
        processes=args.processes,
        duration_s=args.duration,
        messages_per_device=args.messages,
        disconnect_rate_per_h=args.disconnect_rate,
        connect_rate_per_s=args.connect_rate,
        mqtt_host=args.mqtt_host,
        mqtt_port=args.mqtt_port,
        report_interval_s=args.report_every,
    )
    summary = run_simulation(config, on_report=_progress)
    if args.json:
        _say(json.dumps(summary.to_dict(), indent=2))
    else:
        for key, value in summary.to_dict().items():
            _say(f"{key:20} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
