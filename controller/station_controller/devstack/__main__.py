"""Command line of the dev stack: `python -m station_controller.devstack run [--data-dir var]`."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from .run import run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m station_controller.devstack")
    commands = parser.add_subparsers(dest="command", required=True)
    run_cmd = commands.add_parser(
        "run", help="start Mosquitto, VictoriaMetrics, the controller and a demo agent"
    )
    run_cmd.add_argument(
        "--data-dir", type=Path, default=Path("var"), help="state directory (default: ./var)"
    )
    run_cmd.add_argument("--verbose", action="store_true", help="log at DEBUG")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return run(data_dir=args.data_dir)


if __name__ == "__main__":
    raise SystemExit(main())
