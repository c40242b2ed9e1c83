"""A live overnight rollout: 20 real agents behind shaped links, an origin cap, the real campaign scheduler.

Outer process (root namespace): one "centre" namespace with a bridge and 20 "station" namespaces, each
joined by a veth whose two ends are shaped with tc tbf to that station's link speed (2-8 Mbit/s). It
then re-runs this script inside the centre namespace (``--inner``), which starts Mosquitto and the
controller (API, ingest, campaign scheduler, /content/ chunk server with its origin limiter) on the
bridge address, publishes a bundle, enrolls 20 real ``station-agent`` processes (one per station
namespace), starts a content campaign with an origin cap and measures bytes served by the origin over a
window of ``--window`` seconds, against the physical bound min(B_o·W, Σ min(D_i, b_i·W)) (DESIGN §7,
target ≥ 0.85). The campaign is then cancelled, which must stop every download.

    .venv/bin/python bench/rollout_live.py [--agents 20] [--origin-mbit 40] [--window 60] [--mb 48]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support (namespaces)

from _common import write_result  # noqa: E402

from tests.support.netns import NetnsLab, popen_in, run_in  # noqa: E402

MBIT = 1_000_000


def outer(args: argparse.Namespace) -> None:
    rng = random.Random(11)
    octet = rng.randint(1, 250)
    rates = [round(rng.uniform(2.0, 8.0), 1) for _ in range(args.agents)]
    with NetnsLab() as lab, tempfile.TemporaryDirectory(prefix="rollout-live-") as tmp:
        centre = lab.add("centre")
        ports = []
        stations = []
        for i, rate in enumerate(rates):
            ns = lab.add(f"s{i}")
            lab.veth(centre, f"v{i}", ns, "s0")
            ports.append(f"v{i}")
            lab.address(ns, "s0", f"10.77.{octet}.{10 + i}/24")
            for where, dev in ((centre, f"v{i}"), (ns, "s0")):  # downlink and uplink of this station
                run_in(where, ["tc", "qdisc", "replace", "dev", dev, "root", "tbf", "rate", f"{rate}mbit",
                               "burst", "32kb", "latency", "400ms"])  # fmt: skip
            stations.append({"ns": ns, "rate_mbit": rate})
        lab.bridge(centre, "br0", ports)
        lab.address(centre, "br0", f"10.77.{octet}.1/24")
        plan = {"host": f"10.77.{octet}.1", "stations": stations, "tmp": tmp, **vars(args)}
        argv = [sys.executable, str(Path(__file__).resolve()), "--inner", json.dumps(plan)]
        proc = popen_in(centre, argv, log_file=Path(tmp) / "inner.log")
        try:
            code = proc.wait(timeout=args.timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        log = (Path(tmp) / "inner.log").read_text(encoding="utf-8", errors="replace")
        result_lines = [line for line in log.splitlines() if line.startswith("RESULT ")]
        if code != 0 or not result_lines:
            sys.stderr.write(log[-6000:])
            raise SystemExit(f"inner run failed (exit {code})")
        figures = json.loads(result_lines[-1][len("RESULT ") :])
        for key, value in figures.items():
            if key != "agents_detail":
                print(f"{key:>28}: {value}")
        write_result(f"rollout_live_origin{args.origin_mbit:g}", figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--origin-mbit", type=float, default=40.0)
    parser.add_argument("--window", type=float, default=60.0, help="measured seconds")
    parser.add_argument("--mb", type=int, default=48, help="bundle size in MB (each agent's delta)")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--inner", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        from rollout_live_inner import inner

        inner(json.loads(args.inner))
    else:
        outer(args)


if __name__ == "__main__":
    main()
