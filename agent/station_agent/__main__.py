"""Command line: ``python -m station_agent --config agent.toml``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Dict, List, Optional

from . import AGENT_VERSION
from .config import load_config
from .errors import AgentError

log = logging.getLogger("station_agent")


def _parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="station-agent", description="Station Fleet device agent")
    parser.add_argument("--config", type=Path, help="TOML settings file (AGENT_* env vars override it)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--state-dir", help="override state_dir")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override one setting (repeatable)",
    )
    parser.add_argument("--version", action="version", version=AGENT_VERSION)
    return parser.parse_args(argv)


def _overrides(args: argparse.Namespace) -> Dict[str, str]:
    pairs: Dict[str, str] = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set expects SECTION.KEY=VALUE, got {item!r}")
        pairs[key.strip()] = value
    if args.state_dir:
        pairs["state_dir"] = args.state_dir
    return pairs


def main(argv: Optional[List[str]] = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()

    def _on_signal(signum: int, _frame: Optional[FrameType]) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        cfg = load_config(args.config, env=os.environ, overrides=_overrides(args))
        from .runtime import run  # imported after the config is known good: paho/psutil load only when needed

        run(cfg, stop)
    except AgentError as exc:
        if stop.is_set():
            return 0  # stopped by a signal while still enrolling
        print(f"station-agent: {exc}", file=sys.stderr)  # noqa: T201 - CLI error output
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
